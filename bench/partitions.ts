// `npm run bench:partitions`: retention on a table RANGE-partitioned by day, half expired — dbmaint's partition path vs one DELETE vs dbmaint's own row engine, idle and under the foreground load.
import os from 'node:os';
import { parseArgs } from 'node:util';
import mysql from 'mysql2/promise';
import { runLocal } from '../bin/local-runner';
import { parseConfig } from '../lib/config/load';
import { credentialsFromUrl } from '../lib/db/credentials';
import { ensureMariaDb, startLocalMariaDb } from '../dev/mariadb-server';
import { textTable } from '../lib/reporting/text-table';
import { silentLog } from '../lib/runtime/log';
import type { RetentionResult } from '../lib/tasks/retention-task';
import { startLoad, type LoadStats } from './foreground-load';
import { resultTarget, writeResult } from './result-file';

const { values: args } = parseArgs({
  options: {
    /** Rows of `events`, spread evenly over `days` days (half of them older than the 30-day retention). */
    rows: { type: 'string', default: '10000000' },
    days: { type: 'string', default: '60' },
    /** Connections of the foreground load (each one operation every 4 ms). */
    load: { type: 'string', default: '2' },
    out: { type: 'string' },
    baseline: { type: 'boolean', default: false },
  },
});
const target = resultTarget({ stem: 'partitions', out: args.out, baseline: args.baseline });
const ROWS = Number(args.rows);
const DAYS = Number(args.days);
const CONNECTIONS = Number(args.load);
const DB = 'bench';
const WINDOW_MS = 60_000;

function say(line: string): void {
  process.stdout.write(line + '\n');
}

type Engine = 'single DELETE' | 'dbmaint row engine' | 'dbmaint partitions';
interface Run {
  readonly engine: Engine;
  readonly load: boolean;
  /** `half`: the table half expired; `boundary`: the wholly expired partitions dropped first (untimed), only the partition holding the cutoff left to purge. */
  readonly scope: 'half' | 'boundary';
  readonly seconds: number;
  readonly rowsRemoved: number;
  readonly oldLeft: number;
  readonly youngLost: number;
  readonly partitionsDropped: number;
  readonly foreground?: LoadStats;
}

async function main(): Promise<void> {
  ensureMariaDb(say);
  const server = await startLocalMariaDb({ bufferPoolMb: 3072, flushLogAtTrxCommit: 1, extraArgs: ['--innodb-log-file-size=1G'] });
  const creds = credentialsFromUrl(server.url);
  const admin = await mysql.createConnection({ host: creds.host, port: creds.port, user: creds.user, password: creds.password, timezone: 'Z' });
  const q = async <T>(sql: string): Promise<T[]> => (await admin.query(sql))[0] as T[];
  /** Every scenario starts from a table whose pages are written out, as a production table's old partitions are. */
  const settle = async () => {
    await admin.query('SET GLOBAL innodb_max_dirty_pages_pct = 0');
    for (let i = 0; i < 120; i++) {
      const [row] = await q<{ v: string }>("SELECT VARIABLE_VALUE AS v FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'INNODB_BUFFER_POOL_PAGES_DIRTY'");
      if (Number(row?.v ?? 0) < 100) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    await admin.query('SET GLOBAL innodb_max_dirty_pages_pct = 90');
  };
  const partitionCount = async () => Number((await q<{ n: number }>(`SELECT COUNT(*) AS n FROM information_schema.PARTITIONS WHERE TABLE_SCHEMA = '${DB}' AND TABLE_NAME = 'events'`))[0]!.n);
  try {
    const [v] = await q<{ v: string }>('SELECT VERSION() AS v');
    say(`MariaDB ${v!.v}; ${os.cpus().length} cores; ${ROWS.toLocaleString('en')} rows over ${DAYS} days in daily partitions`);
    await admin.query(`CREATE DATABASE ${DB}`);
    await admin.query(`USE ${DB}`);
    const [[today]] = (await admin.query('SELECT TO_DAYS(UTC_DATE()) AS d')) as unknown as [[{ d: number }]];
    const parts = Array.from({ length: DAYS + 1 }, (_, i) => DAYS - i).map((back) => `PARTITION d${back} VALUES LESS THAN (${today.d - back + 1})`);
    const ddl = `(id BIGINT NOT NULL AUTO_INCREMENT, user_id INT NOT NULL, created_at DATETIME NOT NULL, payload VARBINARY(128) NOT NULL,
      PRIMARY KEY (id, created_at), KEY ix_created (created_at), KEY ix_user (user_id)) ENGINE=InnoDB
      PARTITION BY RANGE (TO_DAYS(created_at)) (${parts.join(', ')}, PARTITION pmax VALUES LESS THAN MAXVALUE)`;
    const t0 = Date.now();
    await admin.query(`CREATE TABLE events_src ${ddl}`);
    for (let done = 0; done < ROWS; done += 500_000) {
      const b = Math.min(ROWS, done + 500_000);
      await admin.query(`INSERT INTO events_src (user_id, created_at, payload)
        SELECT seq % 50000, UTC_TIMESTAMP() - INTERVAL ${DAYS} DAY + INTERVAL (seq * ${DAYS * 86_400} DIV ${ROWS}) SECOND, RANDOM_BYTES(128) FROM seq_1_to_${ROWS} WHERE seq > ${done} AND seq <= ${b}`);
    }
    say(`built in ${((Date.now() - t0) / 1000).toFixed(0)} s`);

    const config = (partitionPath: boolean) =>
      parseConfig({
        purge: { partitionPath },
        targets: [{ name: 'bench', secretArn: 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:bench-AbCdEf', schemas: [DB], cleanupRules: [{ table: 'events', dateColumn: 'created_at', retentionDays: 30, action: 'delete' }] }],
      });

    const runs: Run[] = [];
    const engines: { engine: Engine; load: boolean; scope?: 'boundary' }[] = [
      { engine: 'single DELETE', load: false },
      { engine: 'dbmaint row engine', load: false },
      { engine: 'dbmaint partitions', load: false },
      { engine: 'single DELETE', load: false, scope: 'boundary' },
      { engine: 'dbmaint row engine', load: false, scope: 'boundary' },
      { engine: 'dbmaint row engine', load: true },
      { engine: 'dbmaint partitions', load: true },
    ];
    for (const { engine, load, scope = 'half' } of engines) {
      await admin.query('DROP TABLE IF EXISTS events');
      await admin.query(`CREATE TABLE events ${ddl}`);
      await admin.query('INSERT INTO events SELECT * FROM events_src');
      // Partition d<n> holds the day n days back; d31 and older lie wholly before the 30-day cutoff.
      if (scope === 'boundary') await admin.query(`ALTER TABLE events DROP PARTITION ${Array.from({ length: DAYS - 30 }, (_, i) => `d${31 + i}`).join(', ')}`);
      await admin.query('ANALYZE TABLE events');
      await settle();
      const foreground = load ? await startLoad({ url: server.url, table: 'events', rows: ROWS, connections: CONNECTIONS, intervalMs: 4, seed: 11 }) : undefined;
      if (foreground) await new Promise((r) => setTimeout(r, 5000));
      say(`${engine}${load ? ' under load' : ''}${scope === 'boundary' ? ' (boundary partition)' : ''}...`);
      let cutoff = new Date(Date.now() - 30 * 86_400_000);
      const partitionsBefore = await partitionCount();
      const s0 = process.hrtime.bigint();
      if (engine === 'single DELETE') {
        await admin.query('DELETE FROM events WHERE created_at < ?', [cutoff]);
      } else {
        const out = await runLocal({ task: 'cleanup-data', config: config(engine === 'dbmaint partitions'), databaseUrl: server.url, log: silentLog });
        cutoff = new Date((out.result.result as RetentionResult).rules[0]!.cutoff);
      }
      const seconds = Number(process.hrtime.bigint() - s0) / 1e9;
      // The foreground is measured over the same window whatever the engine: a minute from the start (or the run, if longer).
      if (foreground) await new Promise((r) => setTimeout(r, Math.max(0, WINDOW_MS - seconds * 1000)));
      // From the table itself: the task's result lists at most ten partitions (lib/tasks/bounded-result.ts).
      const dropped = partitionsBefore - (await partitionCount());
      const stats = foreground ? (await foreground.stop()).stats : undefined;
      // Against the copy, with the cutoff the run used: the rows the load inserted (ids beyond the copy's) do not count.
      const count = async (sql: string) => Number(((await admin.query(sql, [cutoff]))[0] as { n: number }[])[0]!.n);
      const expectedOld = await count('SELECT COUNT(*) AS n FROM events_src WHERE created_at < ?');
      const expectedYoung = await count('SELECT COUNT(*) AS n FROM events_src WHERE created_at >= ?');
      const oldLeft = await count('SELECT COUNT(*) AS n FROM events WHERE created_at < ?');
      const youngKept = Number(((await admin.query('SELECT COUNT(*) AS n FROM events WHERE created_at >= ? AND id <= (SELECT MAX(id) FROM events_src)', [cutoff]))[0] as { n: number }[])[0]!.n);
      const youngLost = expectedYoung - youngKept;
      const pre = { old: expectedOld };
      const post = { old: oldLeft };
      runs.push({ engine, load, scope, seconds, rowsRemoved: pre.old - post.old, oldLeft: post.old, youngLost, partitionsDropped: dropped, ...(stats ? { foreground: stats } : {}) });
      say(`  ${seconds.toFixed(2)} s`);
    }

    const floor = runs.find((r) => r.engine === 'single DELETE' && r.scope === 'half')!.seconds;
    const boundaryFloor = runs.find((r) => r.engine === 'single DELETE' && r.scope === 'boundary')!.seconds;
    say('');
    say(
      textTable(
        ['engine', 'load', 'scope', 'seconds', '× floor', 'rows removed', 'old left', 'young lost', 'partitions dropped', 'fg p99 ms', 'fg max ms'],
        runs.map((r) => [r.engine, r.load ? 'yes' : 'idle', r.scope, r.seconds.toFixed(2), (r.seconds / (r.scope === 'boundary' ? boundaryFloor : floor)).toFixed(3), r.rowsRemoved.toLocaleString('en'), String(r.oldLeft), String(r.youngLost), String(r.partitionsDropped), r.foreground ? r.foreground.p99.toFixed(1) : '', r.foreground ? r.foreground.max.toFixed(0) : '']),
      ),
    );
    const part = runs.find((r) => r.engine === 'dbmaint partitions' && !r.load)!;
    const rowIdle = runs.find((r) => r.engine === 'dbmaint row engine' && !r.load && r.scope === 'half')!;
    const rowBoundary = runs.find((r) => r.engine === 'dbmaint row engine' && r.scope === 'boundary')!;
    const rowLoad = runs.find((r) => r.engine === 'dbmaint row engine' && r.load)!;
    const partLoad = runs.find((r) => r.engine === 'dbmaint partitions' && r.load)!;
    const checks = [
      ['retention ≤ 1/20 of the single-DELETE floor (idle)', part.seconds <= floor / 20],
      ['foreground p99 under load no worse than with the row engine', partLoad.foreground!.p99 <= rowLoad.foreground!.p99],
      ['row engine ≤ 1.3× the single DELETE on the partitioned table (idle, half expired)', rowIdle.seconds <= floor * 1.3],
      ['row engine ≤ 1.3× the single DELETE on the boundary partition (idle)', rowBoundary.seconds <= boundaryFloor * 1.3],
      ['every expired row removed, no young row lost (every run)', runs.every((r) => r.oldLeft === 0 && r.youngLost === 0)],
    ] as const;
    say('');
    for (const [what, ok] of checks) say(`${ok ? 'met ' : 'NOT met'} ${what}`);
    writeResult(target, JSON.stringify({ date: new Date().toISOString(), server: v!.v, cores: os.cpus().length, rows: ROWS, days: DAYS, runs, checks: checks.map(([what, ok]) => ({ what, ok })) }, null, 2));
    say(`results written to ${target.file}`);
    if (!runs.every((r) => r.oldLeft === 0 && r.youngLost === 0)) process.exitCode = 1;
  } finally {
    await admin.end();
    await server.stop();
  }
}

main().catch((err: Error) => {
  process.stderr.write(`bench:partitions failed: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
