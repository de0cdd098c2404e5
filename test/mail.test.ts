// Report mails: rendering (subjects, content, escaping, file snapshots), delivery through a local SES
// emulator, send failures that never throw, and alert de-duplication state in MariaDB.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type mysql from 'mysql2/promise';
import { MessageRejected, SendEmailCommand, SESClient } from '@aws-sdk/client-ses';
import { mockClient } from 'aws-sdk-client-mock';
import { credentialsFromUrl } from '../lib/db/credentials';
import { openSession, type DbSession } from '../lib/db/connection';
import type { Recommendation } from '../lib/recommend/types';
import { AlertState, storedConditionKey } from '../lib/reporting/alert-state';
import { renderAlert, renderDailyReport, renderWeeklyReport } from '../lib/reporting/mail/render';
import { sendReport, SesMailSender, type OutgoingMail } from '../lib/reporting/mail/sender';
import type { AlertCondition, AlertData, DailyReportData, RenderedMail, WeeklyReportData } from '../lib/reporting/report-data';
import { recordingLog } from './support/recording-log';
import { adminConnection, serverUrl } from './support/db';
import { localSesClient, startSesLocal, type SesLocal } from '../dev/ses-emulator';

const GB = 1024 ** 3;
const MB = 1024 ** 2;
/** A legal MariaDB table name that is also markup. */
const HOSTILE = 'shop.<script>alert("x")</script>&co';
const HOSTILE_HTML = 'shop.&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;co';

const recommendations: Recommendation[] = [
  { code: 'UNUSED_INDEX', priority: 'low', object: 'shop.orders.ix_legacy', message: 'Index not used since the server started 41 days ago', evidence: { days: 41 }, fix: 'ALTER TABLE `shop`.`orders` DROP INDEX `ix_legacy`' },
  { code: 'FRAGMENTED_TABLE', priority: 'high', object: HOSTILE, message: '38% of 6.2 GiB is free space', evidence: { percent: 38 }, fix: 'OPTIMIZE TABLE `shop`.`<script>alert("x")</script>&co`' },
  { code: 'STALE_STATISTICS', priority: 'medium', object: 'shop.customers', message: 'Statistics 45 days old, 22% of rows changed since', evidence: { days: 45 } },
  { code: 'AUTO_INCREMENT_NEAR_LIMIT', priority: 'high', object: 'shop.events', message: 'events.id has used 91% of INT', evidence: { percent: 91 }, fix: 'ALTER TABLE `shop`.`events` MODIFY id BIGINT NOT NULL AUTO_INCREMENT' },
];

const daily: DailyReportData = {
  target: 'prod',
  server: 'MariaDB 10.11.6 at db.internal:3306',
  periodStart: '2026-03-14T00:00:00.000Z',
  periodEnd: '2026-03-15T00:00:00.000Z',
  runs: [
    {
      task: 'cleanup-data', target: 'prod', runId: 'run-1', status: 'succeeded', dryRun: false, startedAt: '2026-03-14T02:00:00.000Z', durationSeconds: 754.2,
      headline: 'deleted 1,204,331 rows in 2 tables, 12,000 remaining',
      rows: [
        { table: 'shop.sessions', action: 'delete', rows: 1_200_000, remaining: 12_000, durationSeconds: 700.5 },
        { table: HOSTILE, action: 'delete', rows: 4331, remaining: null, durationSeconds: 53.7, detail: 'cutoff 2025-12-14 00:00' },
      ],
    },
    {
      task: 'optimize-tables', target: 'prod', runId: 'run-2', status: 'failed', dryRun: false, startedAt: '2026-03-14T03:00:00.000Z', durationSeconds: 12.34,
      error: 'Lock wait timeout exceeded; try restarting transaction',
      headline: 'rebuilt 1 of 2 tables, reclaimed 1.5 GiB',
      rows: [
        { table: 'shop.orders', action: 'optimize', reclaimedBytes: 1.5 * GB, beforeBytes: 4 * GB, afterBytes: 2.5 * GB, durationSeconds: 11.1 },
        { table: 'shop.order_lines', action: 'failed', detail: 'metadata lock held by thread 42' },
      ],
    },
    {
      task: 'analyze-tables', target: 'prod', runId: null, status: 'skipped', dryRun: true, startedAt: '2026-03-14T04:00:00.000Z', durationSeconds: 0.4,
      headline: 'no table had stale statistics', rows: [],
    },
  ],
  database: { totalBytes: Math.round(12.3 * GB), tableCount: 42, growthBytesPerDay: 150 * MB, daysToStorageLimit: 512.4, storageLimitBytes: 100 * GB },
  recommendations,
};

const weekly: WeeklyReportData = {
  target: 'prod',
  server: 'MariaDB 10.11.6 at db.internal:3306',
  periodStart: '2026-03-09T00:00:00.000Z',
  periodEnd: '2026-03-16T00:00:00.000Z',
  runs: [
    { task: 'cleanup-data', target: 'prod', runId: 'run-1', status: 'succeeded', dryRun: false, startedAt: '2026-03-09T02:00:00.000Z', durationSeconds: 640, headline: 'deleted 1,100,000 rows in 2 tables', rows: [] },
    { task: 'optimize-tables', target: 'prod', runId: 'run-2', status: 'stopped-at-deadline', dryRun: false, startedAt: '2026-03-10T03:00:00.000Z', durationSeconds: 3720, headline: 'rebuilt 3 of 5 tables, 2 left for the next run', rows: [] },
    { task: 'collect-statistics', target: 'prod', runId: 'run-3', status: 'succeeded', dryRun: false, startedAt: '2026-03-15T05:00:00.000Z', durationSeconds: 0.9, headline: 'measured 42 tables', rows: [] },
  ],
  sizeStart: Math.round(11.2 * GB),
  sizeEnd: Math.round(12.3 * GB),
  growthBytesPerDay: 160 * MB,
  topTables: [
    { table: 'shop.events', bytesStart: 5 * GB, bytesEnd: 5 * GB + 600 * MB, growthBytes: 600 * MB },
    { table: HOSTILE, bytesStart: null, bytesEnd: 300 * MB, growthBytes: null },
    { table: 'shop.sessions', bytesStart: 900 * MB, bytesEnd: 700 * MB, growthBytes: -200 * MB },
  ],
  capacity: { limitBytes: 100 * GB, usedPercent: 12.3, daysToLimit: 25 },
  recommendations,
};

const alert: AlertData = {
  target: 'prod',
  generatedAt: '2026-03-14T06:05:00.000Z',
  conditions: [
    { key: 'failed:optimize-tables', kind: 'task-failed', title: 'optimize-tables failed', detail: 'Lock wait timeout exceeded; try restarting transaction' },
    { key: `rec:FRAGMENTED_TABLE:${HOSTILE}`, kind: 'recommendation', title: `FRAGMENTED_TABLE on ${HOSTILE}`, detail: '38% of 6.2 GiB is free space' },
  ],
};

/** Mail HTML must not fetch, run or restyle anything, and must not carry the hostile name as markup. */
function expectSafeHtml(html: string): void {
  expect(html.startsWith('<!DOCTYPE html>\n<html lang="en">')).toBe(true);
  expect(html.trimEnd().endsWith('</html>')).toBe(true);
  expect(html).not.toMatch(/<script/i);
  expect(html).not.toMatch(/<style/i);
  expect(html).not.toMatch(/<link|<img|\bsrc=|\bhref=|url\(/i);
  expect(html).not.toMatch(/http/i);
  expect(html).not.toMatch(/\bclass=/);
  expect(html).toContain(HOSTILE_HTML);
}

describe('mail rendering', () => {
  it('daily report: subject, runs with their rows, the failed run’s error, database figures, recommendations high first', async () => {
    const m = renderDailyReport(daily);
    expect(m.subject).toBe('[dbmaint] prod: daily maintenance — 1 failed, 2 high-priority recommendations');
    for (const part of [m.text, m.html]) {
      expect(part).toContain('prod');
      expect(part).toContain('MariaDB 10.11.6 at db.internal:3306');
      expect(part).toContain('2026-03-14 00:00 UTC – 2026-03-15 00:00 UTC');
      expect(part).toContain('deleted 1,204,331 rows in 2 tables, 12,000 remaining');
      expect(part).toContain('1,200,000');
      expect(part).toContain('12 min 34 s'); // 754.2 s
      expect(part).toContain('12.3 s');
      expect(part).toContain('4.0 GiB → 2.5 GiB');
      expect(part).toContain('Error: Lock wait timeout exceeded; try restarting transaction');
      expect(part).toContain('metadata lock held by thread 42');
      expect(part).toContain('12.3 GiB in 42 tables');
      expect(part).toContain('+150.0 MiB/day');
      expect(part).toContain('100.0 GiB (12.3% used)');
      expect(part).toContain('512 days');
      expect(part).toContain('dry run');
      // Recommendations: both highs (in their given order), then medium, then low.
      const order = ['FRAGMENTED_TABLE', 'AUTO_INCREMENT_NEAR_LIMIT', 'STALE_STATISTICS', 'UNUSED_INDEX'].map((c) => part.indexOf(c));
      expect(order.every((i) => i > 0)).toBe(true);
      expect([...order].sort((a, b) => a - b)).toEqual(order);
    }
    // The text part is not HTML: names appear as they are.
    expect(m.text).toContain(HOSTILE);
    expect(m.text).toContain('    fix: ALTER TABLE `shop`.`events` MODIFY id BIGINT NOT NULL AUTO_INCREMENT');
    expect(m.text).toMatch(/^shop\.sessions +delete +1,200,000 +12,000 +11 min 41 s$/m);
    // Unknown remaining rows are said, not shown as 0.
    expect(m.text).toMatch(/4,331 +unknown/);
    expectSafeHtml(m.html);
    // Status and priority colours are inline.
    expect(m.html).toContain('<span style="color:#cf222e;font-weight:bold;">failed</span>');
    expect(m.html).toContain('<span style="color:#1a7f37;font-weight:bold;">succeeded</span>');
    expect(m.html).toContain('<span style="color:#cf222e;font-weight:bold;">high</span>');
    expect(m.html).toContain('<span style="color:#9a6700;font-weight:bold;">medium</span>');
    expect(m.html).toContain('<title>[dbmaint] prod: daily maintenance — 1 failed, 2 high-priority recommendations</title>');
    await expect(m.html).toMatchFileSnapshot('./__snapshots__/daily-report.html');
    await expect(m.text).toMatchFileSnapshot('./__snapshots__/daily-report.txt');
  });

  it('daily report subject without problems, and with no runs at all', () => {
    const calm: DailyReportData = { ...daily, runs: daily.runs.filter((r) => r.status !== 'failed'), recommendations: recommendations.filter((r) => r.priority !== 'high') };
    expect(renderDailyReport(calm).subject).toBe('[dbmaint] prod: daily maintenance — 2 runs, no failures');
    const stopped: DailyReportData = { ...calm, runs: [{ ...daily.runs[0]!, status: 'stopped-at-deadline' }] };
    expect(renderDailyReport(stopped).subject).toBe('[dbmaint] prod: daily maintenance — 1 stopped at deadline');
    const empty = renderDailyReport({ ...daily, runs: [], recommendations: [] });
    expect(empty.subject).toBe('[dbmaint] prod: daily maintenance — no task runs');
    expect(empty.text).toContain('No task ran in this period.');
    expect(empty.text).toContain('No open recommendations.');
  });

  it('weekly report: one line per run, size start → end with the change, top tables, capacity, open recommendations', async () => {
    const m = renderWeeklyReport(weekly);
    expect(m.subject).toBe('[dbmaint] prod: weekly summary — 12.3 GiB (+1.1 GiB)');
    for (const part of [m.text, m.html]) {
      expect(part).toContain('2026-03-09 00:00 UTC – 2026-03-16 00:00 UTC');
      expect(part).toContain('11.2 GiB');
      expect(part).toContain('+1.1 GiB');
      expect(part).toContain('+160.0 MiB/day');
      expect(part).toContain('+600.0 MiB');
      expect(part).toContain('-200.0 MiB');
      expect(part).toContain('100.0 GiB (12.3% used)');
      expect(part).toContain('25 days');
      expect(part).toContain('1 h 2 min'); // 3720 s
      expect(part).toContain('stopped-at-deadline');
      expect(part.indexOf('AUTO_INCREMENT_NEAR_LIMIT')).toBeLessThan(part.indexOf('UNUSED_INDEX'));
    }
    // One line per run in the text part.
    expect(m.text).toMatch(/^2026-03-09 02:00 UTC +cleanup-data +succeeded +10 min 40 s +deleted 1,100,000 rows in 2 tables$/m);
    expect(m.text).toMatch(/^2026-03-10 03:00 UTC +optimize-tables +stopped-at-deadline +1 h 2 min +rebuilt 3 of 5 tables/m);
    // A table first seen this week: no start size, no growth figure.
    expect(m.text).toMatch(/<script>alert\("x"\)<\/script>&co +new +300\.0 MiB +-$/m);
    expectSafeHtml(m.html);
    // Few days to the limit is coloured as a problem.
    expect(m.html).toContain('<span style="color:#cf222e;font-weight:bold;">25 days</span>');
    await expect(m.html).toMatchFileSnapshot('./__snapshots__/weekly-report.html');
    await expect(m.text).toMatchFileSnapshot('./__snapshots__/weekly-report.txt');
  });

  it('weekly report: a failed run is counted in the subject and its error shown', () => {
    const m = renderWeeklyReport({
      ...weekly,
      sizeStart: null,
      runs: [...weekly.runs, { ...weekly.runs[0]!, status: 'failed', error: 'Deadlock found when trying to get lock' }],
    });
    expect(m.subject).toBe('[dbmaint] prod: weekly summary — 12.3 GiB, 1 failed run');
    expect(m.text).toContain('Deadlock found when trying to get lock');
    expect(m.text).toContain('Task runs (4, 1 failed)');
    expect(renderWeeklyReport({ ...weekly, sizeStart: null, sizeEnd: null }).subject).toBe('[dbmaint] prod: weekly summary — size unknown');
  });

  it('alert: every condition with its title and detail', async () => {
    const m = renderAlert(alert);
    expect(m.subject).toBe('[dbmaint] ALERT prod: 2 conditions');
    expect(renderAlert({ ...alert, conditions: alert.conditions.slice(0, 1) }).subject).toBe('[dbmaint] ALERT prod: 1 condition');
    for (const part of [m.text, m.html]) {
      expect(part).toContain('2026-03-14 06:05 UTC');
      expect(part).toContain('optimize-tables failed');
      expect(part).toContain('Lock wait timeout exceeded; try restarting transaction');
      expect(part).toContain('38% of 6.2 GiB is free space');
      expect(part).toContain('task failed');
    }
    expect(m.text).toContain(`FRAGMENTED_TABLE on ${HOSTILE}`);
    expectSafeHtml(m.html);
    await expect(m.html).toMatchFileSnapshot('./__snapshots__/alert.html');
    await expect(m.text).toMatchFileSnapshot('./__snapshots__/alert.txt');
  });
});

const outgoing = (m: RenderedMail, to: readonly string[] = ['dba@example.com']): OutgoingMail => ({ ...m, from: 'dbmaint@example.com', to });

describe('mail delivery through the SES API (local emulator)', () => {
  let ses: SesLocal;
  beforeAll(async () => {
    ses = await startSesLocal();
  });
  afterAll(async () => {
    await ses?.stop();
  });

  it.each([
    ['daily report', () => renderDailyReport(daily)],
    ['weekly report', () => renderWeeklyReport(weekly)],
    ['alert', () => renderAlert(alert)],
  ])('%s arrives with its subject, sender, recipient, HTML and text unchanged', async (_name, render) => {
    const m = render();
    const log = recordingLog();
    const out = await sendReport(new SesMailSender(localSesClient(ses.endpoint)), outgoing(m), log);
    expect(out.sent).toBe(true);
    expect(out.error).toBeUndefined();
    const stored = (await ses.emails()).filter((e) => e.messageId === out.messageId);
    expect(stored).toHaveLength(1);
    const e = stored[0]!;
    expect(e.subject).toBe(m.subject);
    expect(e.from).toBe('dbmaint@example.com');
    expect(e.destination.to).toEqual(['dba@example.com']);
    // Byte for byte, em dashes, arrows and escaped markup included.
    expect(e.body.html).toBe(m.html);
    expect(e.body.text).toBe(m.text);
    expect(log.lines).toEqual([{ level: 'info', message: 'report mail sent', fields: { subject: m.subject, to: ['dba@example.com'], messageId: out.messageId } }]);
  });

  it('the request carries every recipient, both parts and UTF-8 charsets', async () => {
    // The emulator's v1 SendEmail keeps only the first To address: the request itself is checked here.
    const client = new SESClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
    const mock = mockClient(client);
    try {
      mock.on(SendEmailCommand).resolves({ MessageId: 'mock-1' });
      const m = renderAlert(alert);
      await expect(new SesMailSender(client).send(outgoing(m, ['dba@example.com', 'oncall@example.com']))).resolves.toEqual({ messageId: 'mock-1' });
      const calls = mock.commandCalls(SendEmailCommand);
      expect(calls).toHaveLength(1);
      expect(calls[0]!.args[0].input).toEqual({
        Source: 'dbmaint@example.com',
        Destination: { ToAddresses: ['dba@example.com', 'oncall@example.com'] },
        Message: {
          Subject: { Data: m.subject, Charset: 'UTF-8' },
          Body: { Html: { Data: m.html, Charset: 'UTF-8' }, Text: { Data: m.text, Charset: 'UTF-8' } },
        },
      });
    } finally {
      mock.restore();
    }
  });
});

describe('send failures are returned, never thrown', () => {
  const mail = outgoing(renderAlert(alert));

  it('SES unreachable (emulator stopped): sent false with the connection error, logged', async () => {
    const stopped = await startSesLocal();
    await stopped.stop();
    const log = recordingLog();
    const out = await sendReport(new SesMailSender(localSesClient(stopped.endpoint, { maxAttempts: 1 })), mail, log);
    expect(out.sent).toBe(false);
    expect(out.messageId).toBeUndefined();
    expect(out.error).toMatch(/ECONNREFUSED/);
    expect(log.lines).toHaveLength(1);
    expect(log.lines[0]).toMatchObject({ level: 'error', message: 'report mail not sent', fields: { subject: mail.subject, error: out.error } });
  });

  it('SES refuses the mail: sent false with the service error', async () => {
    const client = new SESClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
    const mock = mockClient(client);
    try {
      mock.on(SendEmailCommand).rejects(new MessageRejected({ message: 'Email address is not verified.', $metadata: {} }));
      const log = recordingLog();
      await expect(sendReport(new SesMailSender(client), mail, log)).resolves.toEqual({ sent: false, error: 'MessageRejected: Email address is not verified.' });
      expect(log.lines.map((l) => l.level)).toEqual(['error']);
    } finally {
      mock.restore();
    }
  });

  it('no recipients: refused before calling SES', async () => {
    const client = new SESClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
    const mock = mockClient(client);
    try {
      mock.on(SendEmailCommand).resolves({ MessageId: 'never' });
      await expect(sendReport(new SesMailSender(client), { ...mail, to: [] }, recordingLog())).resolves.toEqual({ sent: false, error: 'Error: mail has no recipients' });
      expect(mock.commandCalls(SendEmailCommand)).toHaveLength(0);
    } finally {
      mock.restore();
    }
  });
});

describe('alert state (MariaDB)', () => {
  const SCHEMA = 'mail_t_log';
  const HOUR = 3_600_000;
  const T0 = new Date('2026-03-14T08:00:00.000Z');
  const at = (ms: number) => new Date(T0.getTime() + ms);
  const cond = (key: string): AlertCondition => ({ key, kind: 'recommendation', title: key, detail: '' });
  const keysOf = (cs: readonly AlertCondition[]) => cs.map((c) => c.key);
  let admin: mysql.Connection;
  let db: DbSession;
  let state: AlertState;

  beforeAll(async () => {
    admin = await adminConnection();
    await admin.query(`DROP DATABASE IF EXISTS \`${SCHEMA}\``);
    db = await openSession(credentialsFromUrl(serverUrl()), { lockWaitTimeoutSeconds: 5, innodbLockWaitTimeoutSeconds: 5, connectTimeoutSeconds: 5 }, 'disabled');
    state = new AlertState(db, SCHEMA, 'prod');
    // Creates the schema and the table; a second call changes nothing.
    await state.prepare();
    await state.prepare();
  });
  beforeEach(async () => {
    await admin.query(`DELETE FROM \`${SCHEMA}\`.alert_state`);
  });
  afterAll(async () => {
    await db?.close();
    await admin?.end();
  });

  async function storedRows(): Promise<{ target: string; condition_key: string; last_sent_at: Date }[]> {
    const [rows] = await admin.query<mysql.RowDataPacket[]>(`SELECT target, condition_key, last_sent_at FROM \`${SCHEMA}\`.alert_state ORDER BY target, condition_key`);
    return rows as { target: string; condition_key: string; last_sent_at: Date }[];
  }

  it('prepare creates the table with the documented key', async () => {
    const [cols] = await admin.query<mysql.RowDataPacket[]>(
      `SELECT COLUMN_NAME AS name, COLUMN_TYPE AS type, COLUMN_KEY AS k FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'alert_state' ORDER BY ORDINAL_POSITION`,
      [SCHEMA],
    );
    expect(cols.map((c) => [c['name'], c['type'], c['k']])).toEqual([
      ['target', 'varchar(64)', 'PRI'],
      ['condition_key', 'varchar(255)', 'PRI'],
      ['last_sent_at', 'datetime(6)', ''],
    ]);
  });

  it('a condition is due the first time, not again within the period after markSent, and due again once the period has passed', async () => {
    const a = cond('failed:optimize-tables');
    expect(keysOf(await state.due([a], 24, T0))).toEqual([a.key]);
    await state.markSent([a.key], T0);
    expect(await storedRows()).toEqual([{ target: 'prod', condition_key: a.key, last_sent_at: T0 }]);
    expect(await state.due([a], 24, at(HOUR))).toEqual([]);
    expect(await state.due([a], 24, at(24 * HOUR - 1))).toEqual([]);
    expect(keysOf(await state.due([a], 24, at(24 * HOUR)))).toEqual([a.key]);
    // A shorter period makes it due sooner; sending again restarts the period.
    expect(keysOf(await state.due([a], 6, at(6 * HOUR)))).toEqual([a.key]);
    await state.markSent([a.key], at(24 * HOUR));
    expect(await state.due([a], 24, at(25 * HOUR))).toEqual([]);
  });

  it('keys are independent: per key, per target, and case matters', async () => {
    const a = cond('rec:FRAGMENTED_TABLE:shop.orders');
    const b = cond('rec:FRAGMENTED_TABLE:shop.Orders');
    const c = cond('failed:cleanup-data');
    await state.markSent([a.key], T0);
    expect(keysOf(await state.due([a, b, c], 24, at(HOUR)))).toEqual([b.key, c.key]);
    // Another target has its own state.
    const staging = new AlertState(db, SCHEMA, 'staging');
    expect(keysOf(await staging.due([a], 24, at(HOUR)))).toEqual([a.key]);
    await staging.markSent([a.key, b.key], at(2 * HOUR));
    expect((await storedRows()).map((r) => `${r.target} ${r.condition_key}`)).toEqual([
      'prod rec:FRAGMENTED_TABLE:shop.orders',
      'staging rec:FRAGMENTED_TABLE:shop.Orders',
      'staging rec:FRAGMENTED_TABLE:shop.orders',
    ]);
    // prod's b was never sent.
    expect(keysOf(await state.due([b], 24, at(3 * HOUR)))).toEqual([b.key]);
  });

  it('a condition listed twice is returned once; no conditions need no query', async () => {
    const a = cond('failed:analyze-tables');
    expect(keysOf(await state.due([a, a], 24, T0))).toEqual([a.key]);
    expect(await state.due([], 24, T0)).toEqual([]);
    await state.markSent([], T0);
    expect(await storedRows()).toEqual([]);
  });

  it('keys longer than the column (slow statement digests) are stored hashed and stay distinct', async () => {
    const digest = 'rec:SLOW_STATEMENT:SELECT ' + 'col, '.repeat(80);
    const a = cond(`${digest}a FROM t`);
    const b = cond(`${digest}b FROM t`);
    expect(storedConditionKey(a.key)).toHaveLength(255);
    expect(storedConditionKey(a.key)).not.toBe(storedConditionKey(b.key));
    await state.markSent([a.key], T0);
    expect(keysOf(await state.due([a, b], 24, at(HOUR)))).toEqual([b.key]);
    await state.markSent([b.key], at(HOUR));
    expect((await storedRows()).map((r) => r.condition_key.length)).toEqual([255, 255]);
    expect(await state.due([a, b], 24, at(2 * HOUR))).toEqual([]);
  });

  it('refuses a negative period', async () => {
    await expect(state.due([cond('x')], -1, T0)).rejects.toThrow(RangeError);
  });
});
