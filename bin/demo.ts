// `npm run demo`: a throw-away MariaDB with a small shop schema, then real analyze-tables, cleanup-data and archive-orders runs through the Lambda handlers.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { credentialsFromUrl } from '../lib/db/credentials';
import { ensureMariaDb, startLocalMariaDb } from '../dev/mariadb-server';
import { renderTaskSummary } from '../lib/reporting/text-summary';
import { localSesClient, startSesLocal } from '../dev/ses-emulator';
import { SesMailSender } from '../lib/reporting/mail/sender';
import { textTable } from '../lib/reporting/text-table';
import { silentLog } from '../lib/runtime/log';
import { describeEmf, runLocal, runLocalRoutine } from './local-runner';

const SCHEMA = 'shop';

/** A django-like shop: sessions, an admin log, orders and events, with some statistics made stale. */
async function loadDemoSchema(conn: mysql.Connection): Promise<void> {
  const q = (sql: string) => conn.query(sql);
  await q(`CREATE DATABASE ${SCHEMA}`);
  await q(`USE ${SCHEMA}`);
  await q(`CREATE TABLE django_session (
    session_key CHAR(40) NOT NULL PRIMARY KEY, session_data TEXT NOT NULL, expire_date DATETIME(6) NOT NULL, KEY ix_expire (expire_date)
  ) ENGINE=InnoDB STATS_AUTO_RECALC=0`);
  await q(`CREATE TABLE django_admin_log (
    id INT AUTO_INCREMENT PRIMARY KEY, action_time DATETIME(6) NOT NULL, user_id INT NOT NULL, object_repr VARCHAR(200) NOT NULL,
    action_flag SMALLINT UNSIGNED NOT NULL, change_message TEXT NOT NULL, KEY ix_action_time (action_time)
  ) ENGINE=InnoDB STATS_AUTO_RECALC=0`);
  await q(`CREATE TABLE orders (
    id BIGINT AUTO_INCREMENT PRIMARY KEY, customer_id INT NOT NULL, status ENUM('new','paid','shipped','completed','cancelled') NOT NULL,
    total DECIMAL(10,2) NOT NULL, created_at DATETIME NOT NULL, completed_at DATETIME NULL, KEY ix_customer (customer_id), KEY ix_completed (completed_at)
  ) ENGINE=InnoDB STATS_AUTO_RECALC=0`);
  await q(`CREATE TABLE events (
    id BIGINT AUTO_INCREMENT PRIMARY KEY, user_id INT NOT NULL, created_at DATETIME NOT NULL, payload VARBINARY(128) NOT NULL,
    KEY ix_created (created_at), KEY ix_user (user_id)
  ) ENGINE=InnoDB STATS_AUTO_RECALC=0`);
  await q(`CREATE TABLE legacy_counters (name VARCHAR(40) PRIMARY KEY, value BIGINT NOT NULL) ENGINE=MyISAM`);
  await q(`CREATE VIEW recent_orders AS SELECT * FROM orders WHERE created_at > NOW() - INTERVAL 30 DAY`);
  // MariaDB's sequence engine makes rows without a client loop.
  await q(`INSERT INTO django_session SELECT SHA1(seq), REPEAT('x', 200), UTC_TIMESTAMP() - INTERVAL (seq % 90) DAY FROM seq_1_to_20000`);
  await q(`INSERT INTO django_admin_log (action_time, user_id, object_repr, action_flag, change_message)
           SELECT UTC_TIMESTAMP() - INTERVAL (seq % 400) DAY, seq % 17, CONCAT('object ', seq), 1 + seq % 3, '[]' FROM seq_1_to_5000`);
  await q(`INSERT INTO orders (customer_id, status, total, created_at, completed_at)
           SELECT seq % 997, ELT(1 + seq % 5, 'new','paid','shipped','completed','cancelled'), (seq % 500) + 0.99,
                  UTC_TIMESTAMP() - INTERVAL (seq % 800) DAY, IF(seq % 5 = 3, UTC_TIMESTAMP() - INTERVAL (seq % 800) DAY, NULL) FROM seq_1_to_30000`);
  await q(`INSERT INTO events (user_id, created_at, payload) SELECT seq % 5000, UTC_TIMESTAMP() - INTERVAL (50000 - seq) MINUTE, RANDOM_BYTES(100) FROM seq_1_to_50000`);
  await q(`INSERT INTO legacy_counters VALUES ('visits', 42)`);
  for (const t of ['django_session', 'django_admin_log', 'orders', 'events']) await q(`ANALYZE TABLE ${t}`);
  // Age the statistics: orders and events were last analyzed weeks ago, the admin log never.
  await q(`UPDATE mysql.innodb_table_stats SET last_update = UTC_TIMESTAMP() - INTERVAL 23 DAY WHERE database_name = '${SCHEMA}' AND table_name = 'orders'`);
  await q(`UPDATE mysql.innodb_table_stats SET last_update = UTC_TIMESTAMP() - INTERVAL 9 DAY WHERE database_name = '${SCHEMA}' AND table_name = 'events'`);
  await q(`DELETE FROM mysql.innodb_table_stats WHERE database_name = '${SCHEMA}' AND table_name = 'django_admin_log'`);
}

async function main(): Promise<void> {
  ensureMariaDb();
  process.stdout.write('Starting a throw-away MariaDB server...\n');
  const server = await startLocalMariaDb();
  const work = mkdtempSync(path.join(os.tmpdir(), 'dbmaint-demo-'));
  try {
    const creds = credentialsFromUrl(server.url);
    const admin = await mysql.createConnection({ host: creds.host, port: creds.port, user: creds.user, password: creds.password });
    const [[version]] = await admin.query<mysql.RowDataPacket[]>('SELECT VERSION() AS v');
    process.stdout.write(`MariaDB ${String(version!['v'])} on port ${server.port}; loading the demo schema '${SCHEMA}'...\n`);
    await loadDemoSchema(admin);

    const configFile = path.join(work, 'demo-config.json');
    writeFileSync(
      configFile,
      JSON.stringify(
        {
          timeZone: 'Europe/Berlin',
          targets: [
            {
              name: 'demo',
              secretArn: 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:demo-db-AbCdEf',
              schemas: [SCHEMA],
              cleanupRules: [
                { table: 'django_session', dateColumn: 'expire_date', retentionDays: 30, action: 'delete' },
                { table: 'django_admin_log', dateColumn: 'action_time', retentionDays: 90, action: 'archive' },
                { table: 'events', dateColumn: 'created_at', retentionDays: 14, action: 'delete' },
              ],
              archiveOrders: { table: 'orders', dateColumn: 'completed_at', statusColumn: 'status', completedValues: ['completed'], daysOld: 365 },
              rebuildTables: ['orders'],
              storageLimitGb: 20,
            },
          ],
          // A demo-sized floor: production's default is 100 MB.
          thresholds: { analyzeAfterDays: 7, optimizeMinSizeMb: 4 },
          reports: { from: 'dbmaint@example.com', to: ['dba@example.com'] },
          runLog: { schema: 'dbmaint' },
        },
        null,
        2,
      ),
    );
    const common = { task: 'analyze-tables' as const, configFile, databaseUrl: server.url, log: silentLog };

    process.stdout.write('\n=== 1. npm run dbmaint -- analyze-tables --dry-run ===\n\n');
    const dry = await runLocal({ ...common, dryRun: true });
    process.stdout.write(renderTaskSummary(dry.result) + '\n');

    process.stdout.write('\n=== 2. npm run dbmaint -- analyze-tables ===\n\n');
    const real = await runLocal(common);
    process.stdout.write(renderTaskSummary(real.result) + '\n\n');
    process.stdout.write('Metrics it would publish (CloudWatch EMF):\n' + describeEmf(real.emf) + '\n');

    process.stdout.write('\n=== 3. The run log (dbmaint.command_log) ===\n\n');
    const [log] = await admin.query<mysql.RowDataPacket[]>(
      `SELECT CONCAT(schema_name, '.', table_name) AS tbl, command, DATE_FORMAT(started_at, '%H:%i:%s.%f') AS started,
              TIMESTAMPDIFF(MICROSECOND, started_at, ended_at) / 1000 AS ms, IFNULL(error_message, '') AS error
         FROM dbmaint.command_log WHERE run_id = ? ORDER BY id`,
      [real.result.runId],
    );
    process.stdout.write(
      textTable(
        ['table', 'command', 'started (UTC)', 'ms', 'error'],
        log.map((r) => [String(r['tbl']), String(r['command']), String(r['started']).slice(0, 12), Number(r['ms']).toFixed(1), String(r['error'])]),
      ) + '\n',
    );

    process.stdout.write('\n=== 4. A second run finds nothing stale ===\n\n');
    const again = await runLocal(common);
    const c = (again.result.result as { counts: Record<string, number> }).counts;
    process.stdout.write(`analyzed ${c['analyzed']}, fresh ${c['fresh']}, skipped ${c['skipped']}\n`);

    const retention = { configFile, databaseUrl: server.url, log: silentLog };
    process.stdout.write('\n=== 5. npm run dbmaint -- cleanup-data --dry-run ===\n\n');
    const cleanDry = await runLocal({ ...retention, task: 'cleanup-data', dryRun: true });
    process.stdout.write(renderTaskSummary(cleanDry.result) + '\n');

    process.stdout.write('\n=== 6. npm run dbmaint -- cleanup-data ===\n\n');
    const clean = await runLocal({ ...retention, task: 'cleanup-data' });
    process.stdout.write(renderTaskSummary(clean.result) + '\n\n');
    process.stdout.write('Metrics it would publish (CloudWatch EMF):\n' + describeEmf(clean.emf) + '\n');

    process.stdout.write('\n=== 7. npm run dbmaint -- archive-orders ===\n\n');
    const orders = await runLocal({ ...retention, task: 'archive-orders' });
    process.stdout.write(renderTaskSummary(orders.result) + '\n');
    const [[counts]] = await admin.query<mysql.RowDataPacket[]>(
      `SELECT (SELECT COUNT(*) FROM ${SCHEMA}.orders) AS orders, (SELECT COUNT(*) FROM ${SCHEMA}.orders_archive) AS archived,
              (SELECT COUNT(*) FROM dbmaint.command_log WHERE command_type IN ('PURGE-CHUNK', 'ARCHIVE-CHUNK')) AS chunks`,
    );
    process.stdout.write(
      `\norders left ${String(counts!['orders'])} + archived ${String(counts!['archived'])} = 30000; ${String(counts!['chunks'])} chunk rows in dbmaint.command_log\n`,
    );

    // The purge left most of `events` empty. Let InnoDB's background purge finish first, as a night would.
    await admin.query('SET GLOBAL innodb_max_purge_lag_wait = 0');
    process.stdout.write('\n=== 8. npm run dbmaint -- optimize-tables ===\n\n');
    const optimize = await runLocal({ ...retention, task: 'optimize-tables' });
    process.stdout.write(renderTaskSummary(optimize.result) + '\n\n');
    process.stdout.write('Metrics it would publish (CloudWatch EMF):\n' + describeEmf(optimize.emf) + '\n');

    process.stdout.write('\n=== 9. npm run dbmaint -- collect-statistics ===\n\n');
    const stats = await runLocal({ ...retention, task: 'collect-statistics' });
    process.stdout.write(renderTaskSummary(stats.result) + '\n\n');
    process.stdout.write('Metrics it would publish (CloudWatch EMF):\n' + describeEmf(stats.emf) + '\n');

    // The daily routine end to end, its mail delivered through the SES API to a local SES emulator.
    const ses = await startSesLocal();
    let routineOk = false;
    try {
      process.stdout.write(`\n=== 10. npm run dbmaint -- daily-maintenance (mail to a local SES emulator at ${ses.endpoint}) ===\n\n`);
      const daily = await runLocalRoutine({ ...retention, routine: 'daily-maintenance', mailer: new SesMailSender(localSesClient(ses.endpoint)) });
      process.stdout.write(textTable(['step', 'task', 'status', 'took'], daily.routine.steps.map((st, i) => [String(i + 1), st.task, st.status, `${(st.durationSeconds ?? 0).toFixed(2)} s`])) + '\n');
      const mails = await ses.emails();
      for (const m of mails) {
        const file = path.join(os.tmpdir(), `dbmaint-demo-${m.messageId}.html`);
        writeFileSync(file, m.body.html ?? '');
        process.stdout.write(`\n--- mail received by the SES emulator (HTML part saved to ${file}) ---\nFrom: ${m.from}\nTo: ${m.destination.to.join(', ')}\nSubject: ${m.subject}\n\n${m.body.text ?? ''}\n`);
      }
      routineOk = daily.routine.steps.every((st) => st.status === 'succeeded' || st.status === 'skipped') && mails.some((m) => m.subject.includes('daily maintenance'));
    } finally {
      await ses.stop();
    }
    await admin.end();
    const conserved = Number(counts!['orders']) + Number(counts!['archived']) === 30000;
    if (real.result.status !== 'succeeded' || c['analyzed'] !== 0 || clean.result.status !== 'succeeded' || orders.result.status !== 'succeeded' || !conserved ||
      optimize.result.status !== 'succeeded' || stats.result.status !== 'succeeded' || !routineOk) {
      process.exitCode = 1;
    }
  } finally {
    await server.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: Error) => {
  process.stderr.write(`demo failed: ${err.message}\n`);
  process.exit(1);
});
