// Users without grants on dbmaint's own tables (run log, task runs, history, alert state): every task still runs, moves its rows, and says what it could not record.
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLocalRoutine } from '../bin/local-runner';
import type { DbMaintConfig } from '../lib/config/schema';
import { UrlCredentialSource } from '../lib/db/credentials';
import type { AnalyzeResult } from '../lib/maintenance/analyze';
import type { OptimizeResult } from '../lib/maintenance/optimize';
import type { PreflightResult } from '../lib/maintenance/preflight';
import type { RecommendationsResult } from '../lib/recommend/types';
import { LocalMailbox } from '../lib/reporting/mail/local-mailbox';
import { renderTaskSummary } from '../lib/reporting/text-summary';
import { Deadline } from '../lib/runtime/deadline';
import type { CollectResult } from '../lib/stats/collect';
import type { RetentionResult } from '../lib/tasks/retention-task';
import type { ReportResult } from '../lib/tasks/report-task';
import { runTask } from '../lib/tasks/registry';
import { adminConnection, freshSchema, serverUrl, testConfig, testTarget } from './support/db';
import { recordingLog } from './support/recording-log';
import { recordingMetrics } from './support/recording-metrics';

const S = 'grants_t';
/** Never created, never granted. */
const LOG = 'grants_t_log';
/** Created by an admin run; the user may only read it. */
const RO_LOG = 'grants_t_rolog';
/** The run log is fully granted; the separate history schema is missing and may not be created. */
const OK_LOG = 'grants_t_oklog';
const HIST = 'grants_t_hist';
let admin: mysql.Connection;

const urlFor = (user: string) => serverUrl().replace(/\/\/[^@]+@/, `//${user}:pw@`);

function config(runLog: string, extra: Record<string, unknown> = {}): DbMaintConfig {
  return testConfig(
    [S],
    {
      targets: [
        testTarget([S], {
          cleanupRules: [
            { table: 'sessions', dateColumn: 'expire_date', retentionDays: 30, action: 'delete' },
            { table: 'admin_log', dateColumn: 'action_time', retentionDays: 90, action: 'archive' },
          ],
          archiveOrders: { table: 'orders', dateColumn: 'completed_at', statusColumn: 'status', completedValues: ['completed'], daysOld: 365 },
          // Far below the schema's size: STORAGE_HORIZON is a high-priority finding, so recommendations mails an alert.
          storageLimitGb: 0.001,
        }),
      ],
      thresholds: { optimizeMinSizeMb: 0.5, fragmentationPercent: 50 },
      optimize: { lockWaitTimeoutSeconds: 1 },
      reports: { from: 'dbmaint@example.com', to: ['dba@example.com'] },
      ...extra,
    },
    runLog,
  );
}

function env(user: string, runLog = LOG, extra: Record<string, unknown> = {}) {
  const log = recordingLog();
  const m = recordingMetrics();
  const mailbox = new LocalMailbox();
  return {
    log,
    published: m.published,
    mailbox,
    env: { config: config(runLog, extra), credentials: new UrlCredentialSource(urlFor(user)), metrics: m.metrics, log, deadline: Deadline.unlimited(), mailer: mailbox },
  };
}

async function count(sql: string): Promise<number> {
  const [rows] = await admin.query<mysql.RowDataPacket[]>(sql);
  return Number(rows[0]!['n']);
}

async function load(): Promise<void> {
  await freshSchema(admin, S);
  await admin.query(`USE ${S}`);
  await admin.query('CREATE TABLE sessions (k CHAR(40) PRIMARY KEY, expire_date DATETIME NOT NULL, KEY ix_expire (expire_date)) ENGINE=InnoDB');
  await admin.query(`INSERT INTO sessions SELECT SHA1(seq), UTC_TIMESTAMP() - INTERVAL (seq % 60) DAY - INTERVAL 12 HOUR FROM seq_1_to_3000`);
  await admin.query('CREATE TABLE admin_log (id INT AUTO_INCREMENT PRIMARY KEY, action_time DATETIME NOT NULL, msg TEXT, KEY ix_at (action_time)) ENGINE=InnoDB');
  await admin.query(`INSERT INTO admin_log (action_time, msg) SELECT UTC_TIMESTAMP() - INTERVAL (seq % 200) DAY - INTERVAL 12 HOUR, 'm' FROM seq_1_to_2000`);
  await admin.query('CREATE TABLE orders (id INT AUTO_INCREMENT PRIMARY KEY, status VARCHAR(10) NOT NULL, completed_at DATETIME NULL, KEY ix_done (completed_at)) ENGINE=InnoDB');
  await admin.query(`INSERT INTO orders (status, completed_at) SELECT ELT(1 + seq % 3, 'completed', 'cancelled', 'new'), UTC_TIMESTAMP() - INTERVAL (seq % 800) DAY - INTERVAL 12 HOUR FROM seq_1_to_3000`);
}

/** ~24 MB with 90% of its rows deleted: over the optimize thresholds. */
async function fragmented(name: string): Promise<void> {
  await admin.query(`DROP TABLE IF EXISTS ${S}.${name}`);
  await admin.query(`CREATE TABLE ${S}.${name} (id INT PRIMARY KEY, pad VARCHAR(200) NOT NULL) ENGINE=InnoDB`);
  await admin.query(`INSERT INTO ${S}.${name} SELECT seq, REPEAT('x', 200) FROM seq_1_to_100000`);
  await admin.query(`DELETE FROM ${S}.${name} WHERE id % 10 <> 0`);
  await admin.query('SET GLOBAL innodb_max_purge_lag_wait = 0');
  await admin.query(`ANALYZE TABLE ${S}.${name}`);
}

/** The data schema's grants only (what every task needs on it), none on any dbmaint schema. */
async function dataUser(name: string): Promise<void> {
  await admin.query(`DROP USER IF EXISTS '${name}'@'%'`);
  await admin.query(`CREATE USER '${name}'@'%' IDENTIFIED BY 'pw'`);
  await admin.query(`GRANT SELECT, INSERT, DELETE, CREATE, ALTER ON \`${S}\`.* TO '${name}'@'%'`);
  await admin.query(`GRANT SELECT ON mysql.innodb_table_stats TO '${name}'@'%'`);
  await admin.query(`GRANT SELECT ON mysql.innodb_index_stats TO '${name}'@'%'`);
}

const FULL_FIX = `Fix: GRANT CREATE, INSERT, UPDATE, SELECT ON \`${LOG}\`.* TO 'rl_none'@'%';`;

beforeAll(async () => {
  admin = await adminConnection();
  for (const s of [LOG, RO_LOG, OK_LOG, HIST]) await admin.query(`DROP DATABASE IF EXISTS \`${s}\``);
  await load();
  await dataUser('rl_none');
  // Global, not on any dbmaint schema: without it fragmentation is read from DATA_FREE only, too low for optimize to pick the table.
  await admin.query(`GRANT PROCESS ON *.* TO 'rl_none'@'%'`);
  await dataUser('rl_select');
  await dataUser('rl_nohist');
  // The run log exists (an earlier admin run created every table in it); this user may only read it.
  const adminRun = { config: config(RO_LOG), credentials: new UrlCredentialSource(serverUrl()), metrics: { publish: () => undefined }, log: recordingLog(), deadline: Deadline.unlimited(), mailer: new LocalMailbox() };
  await runTask('collect-statistics', {}, adminRun);
  await runTask('cleanup-data', { dryRun: true }, adminRun);
  await admin.query(`GRANT SELECT ON \`${RO_LOG}\`.* TO 'rl_select'@'%'`);
  await admin.query(`GRANT CREATE, INSERT, UPDATE, SELECT, DELETE ON \`${OK_LOG}\`.* TO 'rl_nohist'@'%'`);
});
afterAll(async () => {
  await admin.end();
});

describe('without any grant on the run-log schema', () => {
  it('cleanup-data deletes and archives its rows, logs every chunk as JSON, and ends with its summary and a note', async () => {
    const expiring = await count(`SELECT COUNT(*) AS n FROM ${S}.sessions WHERE expire_date < UTC_TIMESTAMP() - INTERVAL 30 DAY`);
    const old = await count(`SELECT COUNT(*) AS n FROM ${S}.admin_log WHERE action_time < UTC_TIMESTAMP() - INTERVAL 90 DAY`);
    expect(expiring).toBeGreaterThan(0);
    const { env: e, log, published } = env('rl_none');
    const out = await runTask('cleanup-data', {}, e);
    expect(out.status).toBe('succeeded');
    const r = out.result as RetentionResult;
    expect(r.rowsDeleted).toBe(expiring);
    expect(r.rowsArchived).toBe(old);
    expect(await count(`SELECT COUNT(*) AS n FROM ${S}.sessions WHERE expire_date < UTC_TIMESTAMP() - INTERVAL 30 DAY`)).toBe(0);
    expect(await count(`SELECT COUNT(*) AS n FROM ${S}.admin_log_archive`)).toBe(old);
    // Said once, before the first row moved, with the statement that fixes it.
    expect(out.notes![0]).toMatch(new RegExp(`^run log \\(${LOG}\\.command_log\\) not writable: error 1044: Access denied .*; commands are logged as JSON only\\. `));
    expect(out.notes![0]).toContain(FULL_FIX);
    expect(out.notes).toContainEqual(expect.stringMatching(/^task runs \(grants_t_log\.task_run\) not writable: .*Fix: GRANT CREATE, INSERT ON `grants_t_log`\.\* TO 'rl_none'@'%';$/));
    expect(out.notes).toContainEqual(expect.stringMatching(/^task runs \(grants_t_log\.task_run\) not readable: .*tables falling behind are not detected\. Fix: GRANT SELECT ON/));
    expect(out.runLogTable).toBeUndefined();
    const warnAt = log.lines.findIndex((l) => l.message === 'dbmaint table unavailable');
    const firstChunk = log.lines.findIndex((l) => l.message === 'command finished');
    expect(warnAt).toBeGreaterThanOrEqual(0);
    expect(warnAt).toBeLessThan(firstChunk);
    const chunkLines = log.lines.filter((l) => l.message === 'command finished' && ['PURGE-CHUNK', 'ARCHIVE-CHUNK'].includes(String(l.fields?.['type'])));
    expect(chunkLines.reduce((n, l) => n + Number(l.fields?.['rowsAffected'] ?? 0), 0)).toBe(expiring + old);
    expect(published).toContain('*:RunLogUnavailable=1');
    expect(published).toContain('*:TaskSucceeded=1');
    // Not known is not "none falling behind".
    expect(published.filter((p) => p.startsWith('*:TablesFallingBehind'))).toEqual([]);
    const summary = renderTaskSummary(out);
    expect(summary).toContain('Rows deleted');
    expect(summary).toContain('Run log (what this run could not record or read):');
    expect(summary).toContain(FULL_FIX);
    // Nothing was created where the user may not.
    expect(await count(`SELECT COUNT(*) AS n FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '${LOG}'`)).toBe(0);
  });

  it('archive-orders archives its rows', async () => {
    const due = await count(`SELECT COUNT(*) AS n FROM ${S}.orders WHERE status = 'completed' AND completed_at < UTC_TIMESTAMP() - INTERVAL 365 DAY`);
    const { env: e } = env('rl_none');
    const out = await runTask('archive-orders', {}, e);
    expect(out.status).toBe('succeeded');
    expect((out.result as RetentionResult).rowsArchived).toBe(due);
    expect(await count(`SELECT COUNT(*) AS n FROM ${S}.orders_archive`)).toBe(due);
    expect(out.notes![0]).toContain(FULL_FIX);
  });

  it('analyze-tables analyzes', async () => {
    const { env: e } = env('rl_none');
    const out = await runTask('analyze-tables', { force: true }, e);
    expect(out.status).toBe('succeeded');
    expect((out.result as AnalyzeResult).counts.analyzed).toBeGreaterThan(0);
    expect(out.notes![0]).toContain(FULL_FIX);
  });

  it('optimize-tables rebuilds, and says the rebuild interval cannot be applied', async () => {
    await fragmented('frag');
    const { env: e } = env('rl_none');
    const out = await runTask('optimize-tables', { tables: ['frag'] }, e);
    expect(out.status).toBe('succeeded');
    expect((out.result as OptimizeResult).tables.map((t) => t.action)).toEqual(['rebuilt']);
    expect(out.notes).toContainEqual(
      expect.stringMatching(/^run log \(grants_t_log\.command_log\) not readable: .*optimize\.minDaysBetweenRebuilds cannot be applied: a fragmented table is rebuilt on every run\. Fix: GRANT SELECT ON `grants_t_log`\.\* TO 'rl_none'@'%';$/),
    );
  });

  it('collect-statistics measures, keeps no snapshot, and says why there is no trend', async () => {
    const { env: e } = env('rl_none');
    const out = await runTask('collect-statistics', {}, e);
    expect(out.status).toBe('succeeded');
    const r = out.result as CollectResult;
    expect(r.database.tableCount).toBeGreaterThanOrEqual(3);
    expect(r.history.written).toBe(false);
    expect(r.growth.bytes).toEqual({ notEnoughHistory: expect.stringMatching(/^statistics history not readable \(error 1142: SELECT command denied/) });
    expect(out.notes).toContainEqual(expect.stringMatching(/^statistics history \(grants_t_log\.table_size_history, grants_t_log\.schema_size_history\) not writable: .*Fix: GRANT CREATE, INSERT ON `grants_t_log`\.\* TO 'rl_none'@'%';$/));
  });

  it('recommendations runs every check it can, mails its alert, and notes the rest', async () => {
    const { env: e, mailbox } = env('rl_none');
    const out = await runTask('recommendations', {}, e);
    expect(out.status).toBe('succeeded');
    const r = out.result as RecommendationsResult & { alert?: { sent: boolean } };
    const growth = r.checks.find((c) => c.code === 'RAPID_GROWTH')!;
    expect(growth).toMatchObject({ status: 'skipped', note: expect.stringMatching(/^statistics history not readable \(error 1142: .*needs SELECT on grants_t_log\.\*$/) });
    expect(out.notes).toContainEqual(expect.stringMatching(/^alert state \(grants_t_log\.alert_state\) not writable: .*alerts are not de-duplicated/));
    // Mailed although its de-duplication state cannot be kept: repeated rather than lost.
    expect(r.items).toContainEqual(expect.objectContaining({ code: 'STORAGE_HORIZON', priority: 'high' }));
    expect(r.alert).toMatchObject({ sent: true });
    expect(mailbox.mails.some((m) => m.subject.includes('ALERT'))).toBe(true);
  });

  it('the daily report goes out, listing what it could not read', async () => {
    const { env: e, mailbox } = env('rl_none');
    const out = await runTask('daily-report', {}, e);
    expect(out.status).toBe('succeeded');
    expect((out.result as ReportResult).sent).toBe(true);
    const mail = mailbox.mails.find((m) => m.subject.includes('daily maintenance'))!;
    expect(mail.text).toContain('Run log');
    expect(mail.text).toMatch(/task runs \(grants_t_log\.task_run\) not readable: .*the report lists only this routine's step outcomes/);
    expect(mail.text).toContain(`GRANT SELECT ON \`${LOG}\`.* TO 'rl_none'@'%';`);
    // The latest recommendations come from the task runs: not read is not "none open".
    expect(mail.text).toContain('Not known: the task-run table cannot be read');
    expect(mail.text).not.toContain('No open recommendations.');
  });

  it('the daily routine runs every step to success', async () => {
    await load();
    const mailbox = new LocalMailbox();
    const out = await runLocalRoutine({ routine: 'daily-maintenance', config: config(LOG), databaseUrl: urlFor('rl_none'), log: recordingLog(), mailer: mailbox });
    expect(out.routine.steps.map((s) => [s.task, s.status])).toEqual([
      ['preflight', 'succeeded'],
      ['analyze-tables', 'succeeded'],
      ['cleanup-data', 'succeeded'],
      ['optimize-tables', 'succeeded'],
      ['collect-statistics', 'succeeded'],
      ['recommendations', 'succeeded'],
      ['daily-report', 'succeeded'],
    ]);
    expect(out.routine.status).toBe('succeeded');
    expect(await count(`SELECT COUNT(*) AS n FROM ${S}.sessions WHERE expire_date < UTC_TIMESTAMP() - INTERVAL 30 DAY`)).toBe(0);
  });

  it('preflight names each missing grant with the GRANT to run, and rates the user degraded', async () => {
    const { env: e } = env('rl_none');
    const out = await runTask('preflight', {}, e);
    const r = out.result as PreflightResult;
    expect(r.rating).toBe('degraded');
    expect(r.blockedTasks).toEqual([]);
    const c = r.capabilities.find((x) => x.capability === 'run-log')!;
    expect(c).toMatchObject({ ok: false, status: 'degraded' });
    expect(c.missing).toEqual([
      `INSERT, UPDATE, SELECT on ${LOG}.command_log (the run log: one row per command)`,
      `INSERT, SELECT on ${LOG}.task_run (task-run records: reports, the falling-behind check, routine skips)`,
      `INSERT, UPDATE, SELECT on ${LOG}.alert_state (alert de-duplication)`,
      `INSERT, SELECT, DELETE on ${LOG}.table_size_history (statistics history: growth trends; old snapshots deleted)`,
      `INSERT, SELECT, DELETE on ${LOG}.schema_size_history (statistics history: growth trends; old snapshots deleted)`,
      `CREATE on ${LOG}.* (${LOG}.command_log, ${LOG}.task_run, ${LOG}.alert_state, ${LOG}.table_size_history, ${LOG}.schema_size_history not created yet)`,
    ]);
    expect(c.fix).toEqual([`GRANT CREATE, INSERT, UPDATE, SELECT, DELETE ON \`${LOG}\`.* TO 'rl_none'@'%';`]);
    expect(out.metrics).toContainEqual({ name: 'PreflightProblems', unit: 'Count', value: 1 });
    expect(renderTaskSummary(out)).toContain('Rating degraded');
  });
});

describe('with SELECT only on an existing run log', () => {
  it('cleanup-data deletes its rows and writes nothing to the run log; preflight asks for INSERT and UPDATE, not CREATE', async () => {
    await load();
    const rowsBefore = await count(`SELECT COUNT(*) AS n FROM ${RO_LOG}.command_log`);
    const expiring = await count(`SELECT COUNT(*) AS n FROM ${S}.sessions WHERE expire_date < UTC_TIMESTAMP() - INTERVAL 30 DAY`);
    const { env: e, published } = env('rl_select', RO_LOG);
    const out = await runTask('cleanup-data', {}, e);
    expect(out.status).toBe('succeeded');
    expect((out.result as RetentionResult).rowsDeleted).toBe(expiring);
    expect(out.notes![0]).toMatch(/^run log \(grants_t_rolog\.command_log\) not writable: error 1142: INSERT command denied .*Fix: GRANT INSERT, UPDATE, SELECT ON `grants_t_rolog`\.\* TO 'rl_select'@'%';$/);
    // Readable: the falling-behind check had the admin's earlier runs to read (no note about reading).
    expect(out.notes!.some((n) => n.includes('not readable'))).toBe(false);
    expect(await count(`SELECT COUNT(*) AS n FROM ${RO_LOG}.command_log`)).toBe(rowsBefore);
    expect(published).toContain('*:RunLogUnavailable=1');

    const pre = (await runTask('preflight', {}, env('rl_select', RO_LOG).env)).result as PreflightResult;
    const c = pre.capabilities.find((x) => x.capability === 'run-log')!;
    expect(c.status).toBe('degraded');
    expect(c.fix).toEqual([`GRANT CREATE, INSERT, UPDATE, DELETE ON \`${RO_LOG}\`.* TO 'rl_select'@'%';`]);
    expect(c.missing[0]).toBe(`INSERT, UPDATE on ${RO_LOG}.command_log (the run log: one row per command)`);
  });
});

describe('with the run log granted and the history schema missing, not creatable', () => {
  it('collect-statistics and the daily report succeed; the run log is written; preflight names the history grant', async () => {
    const extra = { statistics: { historySchema: HIST } };
    const { env: e, published } = env('rl_nohist', OK_LOG, extra);
    const out = await runTask('collect-statistics', {}, e);
    expect(out.status).toBe('succeeded');
    expect((out.result as CollectResult).history.written).toBe(false);
    expect(out.notes).toEqual([
      expect.stringMatching(/^statistics history \(grants_t_hist\.table_size_history, grants_t_hist\.schema_size_history\) not writable: error 1044: .*Fix: GRANT CREATE, INSERT ON `grants_t_hist`\.\* TO 'rl_nohist'@'%';$/),
      expect.stringMatching(/^statistics history \(.*\) not readable: error 1142: .*no growth trend, capacity projection or top growers\. Fix: GRANT SELECT ON `grants_t_hist`\.\* TO 'rl_nohist'@'%';$/),
    ]);
    expect(out.runLogTable).toBe(`${OK_LOG}.command_log`);
    expect(published).toContain('*:RunLogUnavailable=1');
    expect(await count(`SELECT COUNT(*) AS n FROM ${OK_LOG}.task_run WHERE run_id = '${out.runId}'`)).toBe(1);

    const report = env('rl_nohist', OK_LOG, extra);
    const daily = await runTask('daily-report', {}, report.env);
    expect(daily.status).toBe('succeeded');
    expect(report.mailbox.mails.find((m) => m.subject.includes('daily maintenance'))!.text).toMatch(/statistics history .* not readable: .*the report has no database size, growth or capacity/);

    const pre = (await runTask('preflight', {}, env('rl_nohist', OK_LOG, extra).env)).result as PreflightResult;
    const c = pre.capabilities.find((x) => x.capability === 'run-log')!;
    expect(c.status).toBe('degraded');
    expect(c.fix).toEqual([`GRANT CREATE, INSERT, SELECT, DELETE ON \`${HIST}\`.* TO 'rl_nohist'@'%';`]);
  });

  it('with every grant in place the run has no notes and RunLogUnavailable is 0', async () => {
    await admin.query(`GRANT CREATE, INSERT, SELECT, DELETE ON \`${HIST}\`.* TO 'rl_nohist'@'%'`);
    const { env: e, published } = env('rl_nohist', OK_LOG, { statistics: { historySchema: HIST } });
    const out = await runTask('collect-statistics', {}, e);
    expect(out.notes).toBeUndefined();
    expect((out.result as CollectResult).history.written).toBe(true);
    expect(published).toContain('*:RunLogUnavailable=0');
    const pre = (await runTask('preflight', {}, env('rl_nohist', OK_LOG, { statistics: { historySchema: HIST } }).env)).result as PreflightResult;
    expect(pre.capabilities.find((x) => x.capability === 'run-log')!.status).toBe('ok');
  });
});
