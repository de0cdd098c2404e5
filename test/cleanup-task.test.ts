// cleanup-data and archive-orders through the task runner and Lambda handlers: payloads, per-table metrics, throttling.
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler as archiveOrdersHandler } from '../functions/archive-orders';
import { useDependencies } from '../functions/lambda-handler';
import { UrlCredentialSource } from '../lib/db/credentials';
import { EventValidationError } from '../lib/events/schema';
import { lambdaContext } from '../dev/lambda-context';
import type { MetricsPublisher } from '../lib/metrics/emf';
import { Deadline } from '../lib/runtime/deadline';
import { silentLog } from '../lib/runtime/log';
import type { RetentionResult } from '../lib/tasks/retention-task';
import { runTask } from '../lib/tasks/registry';
import { adminConnection, freshSchema, serverUrl, testConfig, testTarget } from './support/db';

const S = 'cleanup_t';
let admin: mysql.Connection;
const published: { db: string; table?: string; points: Record<string, number> }[] = [];
const metrics: MetricsPublisher = {
  publish(_task, db, points, table) {
    published.push({ db, ...(table ? { table } : {}), points: Object.fromEntries(points.map((p) => [p.name, p.value])) });
    return undefined;
  },
};

const rules = [
  { table: 'django_session', dateColumn: 'expire_date', retentionDays: 30, action: 'delete' },
  { table: 'django_admin_log', dateColumn: 'action_time', retentionDays: 90, action: 'archive' },
  { table: 'notifications', dateColumn: 'created_at', retentionDays: 60, action: 'delete', where: [{ column: 'is_read', op: '=', value: 1 }] },
];

function config(extra: Record<string, unknown> = {}) {
  return testConfig([S], {
    targets: [
      testTarget([S], {
        cleanupRules: rules,
        archiveOrders: { table: 'orders', dateColumn: 'completed_at', statusColumn: 'status', completedValues: ['completed'], daysOld: 365 },
      }),
    ],
    ...extra,
  });
}

function env(extra: Record<string, unknown> = {}) {
  return { config: config(extra), credentials: new UrlCredentialSource(serverUrl()), metrics, log: silentLog, deadline: Deadline.unlimited() };
}

async function count(sql: string): Promise<number> {
  const [rows] = await admin.query<mysql.RowDataPacket[]>(sql);
  return Number(rows[0]!['n']);
}

async function load(): Promise<void> {
  await freshSchema(admin, S);
  await admin.query(`USE ${S}`);
  await admin.query(`CREATE TABLE django_session (session_key CHAR(40) PRIMARY KEY, session_data TEXT NOT NULL, expire_date DATETIME(6) NOT NULL, KEY (expire_date))`);
  await admin.query(`INSERT INTO django_session SELECT SHA1(seq), 'x', UTC_TIMESTAMP() - INTERVAL (seq % 60) DAY - INTERVAL 12 HOUR FROM seq_1_to_3000`);
  await admin.query(`CREATE TABLE django_admin_log (id INT AUTO_INCREMENT PRIMARY KEY, action_time DATETIME(6) NOT NULL, msg TEXT, KEY (action_time))`);
  await admin.query(`INSERT INTO django_admin_log (action_time, msg) SELECT UTC_TIMESTAMP() - INTERVAL (seq % 200) DAY - INTERVAL 12 HOUR, 'm' FROM seq_1_to_2000`);
  await admin.query(`CREATE TABLE notifications (id INT AUTO_INCREMENT PRIMARY KEY, is_read TINYINT NOT NULL, created_at DATETIME NOT NULL, KEY (created_at))`);
  await admin.query(`INSERT INTO notifications (is_read, created_at) SELECT seq % 2, UTC_TIMESTAMP() - INTERVAL (seq % 120) DAY - INTERVAL 12 HOUR FROM seq_1_to_2400`);
  await admin.query(`CREATE TABLE orders (id INT AUTO_INCREMENT PRIMARY KEY, status VARCHAR(10) NOT NULL, completed_at DATETIME NULL, KEY (completed_at))`);
  await admin.query(`INSERT INTO orders (status, completed_at) SELECT ELT(1 + seq % 3, 'completed', 'cancelled', 'new'), UTC_TIMESTAMP() - INTERVAL (seq % 800) DAY - INTERVAL 12 HOUR FROM seq_1_to_3000`);
}

beforeAll(async () => {
  admin = await adminConnection();
});
afterAll(async () => {
  await admin.end();
});

describe('cleanup-data', () => {
  it('dry run reports every rule and changes nothing; the real run removes exactly that', async () => {
    await load();
    const dry = await runTask('cleanup-data', { dryRun: true }, env());
    const d = dry.result as RetentionResult;
    expect(d.rules.map((r) => [r.table, r.status])).toEqual([
      [`${S}.django_session`, 'dry-run'],
      [`${S}.django_admin_log`, 'dry-run'],
      [`${S}.notifications`, 'dry-run'],
    ]);
    expect(d.rules[1]!.message).toBe('archive table would be created');
    expect(await count(`SELECT COUNT(*) n FROM django_session`)).toBe(3000);
    expect(await count(`SELECT COUNT(*) n FROM information_schema.TABLES WHERE TABLE_SCHEMA = '${S}' AND TABLE_NAME = 'django_admin_log_archive'`)).toBe(0);

    published.length = 0;
    const real = await runTask('cleanup-data', {}, env());
    const r = real.result as RetentionResult;
    expect(real.status).toBe('succeeded');
    expect(r.rules.map((x) => x.rowsDeleted + x.rowsArchived)).toEqual(d.rules.map((x) => x.wouldRemove));
    expect(r.rules.every((x) => x.rowsRemaining === 0)).toBe(true);
    expect(await count(`SELECT COUNT(*) n FROM django_admin_log_archive`)).toBe(d.rules[1]!.wouldRemove);
    // One task document and one per rule, with the Table dimension.
    expect(published[0]).toMatchObject({ db: 'test', points: { TaskSucceeded: 1, RowsDeleted: r.rowsDeleted, RowsArchived: r.rowsArchived } });
    expect(published.slice(1).map((p) => p.table)).toEqual([`${S}.django_session`, `${S}.django_admin_log`, `${S}.notifications`]);
    for (const p of published.slice(1)) expect(Object.keys(p.points).sort()).toEqual(['Chunks', 'DurationSeconds', 'RowsArchived', 'RowsDeleted', 'RowsRemaining', 'ThrottledSeconds']);
  });

  it('runs only the rules named in the payload and rejects tables without a rule', async () => {
    await load();
    const out = await runTask('cleanup-data', { tables: ['notifications'] }, env());
    expect((out.result as RetentionResult).rules.map((r) => r.table)).toEqual([`${S}.notifications`]);
    expect(await count(`SELECT COUNT(*) n FROM django_session`)).toBe(3000);
    const err = await runTask('cleanup-data', { tables: ['orders'] }, env()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EventValidationError);
    expect((err as Error).message).toMatch(/event\.tables\[0\]: no cleanup rule for table 'orders'/);
  });

  it('throttles while Threads_running is above the limit and reports the time', async () => {
    await load();
    const sleepers = await Promise.all([adminConnection(), adminConnection()]);
    const sleeping = sleepers.map((c) => c.query('SELECT SLEEP(1.5)'));
    await new Promise((r) => setTimeout(r, 200));
    const out = await runTask('cleanup-data', { tables: ['django_session'] }, env({ purge: { maxThreadsRunning: 1 } }));
    await Promise.all(sleeping);
    await Promise.all(sleepers.map((c) => c.end()));
    const r = out.result as RetentionResult;
    expect(out.status).toBe('succeeded');
    expect(r.throttledSeconds).toBeGreaterThan(0.5);
    expect(r.rules[0]!.throttledSeconds).toBeGreaterThan(0.5);
    expect(r.rules[0]!.rowsRemaining).toBe(0);
  });

  it('honours purge.maxRunSeconds: rules it has no time for are reported as not started', async () => {
    await load();
    const out = await runTask('cleanup-data', {}, env({ purge: { maxRunSeconds: 1 } }));
    const r = out.result as RetentionResult;
    expect(out.status).toBe('stopped-at-deadline');
    expect(r.rules.map((x) => x.status)).toEqual(['not-started', 'not-started', 'not-started']);
    expect(await count(`SELECT COUNT(*) n FROM django_session`)).toBe(3000);
  });

  it('reports a refused rule as a failed task while running the others', async () => {
    await load();
    await admin.query('ALTER TABLE notifications DROP INDEX created_at');
    const out = await runTask('cleanup-data', {}, env());
    const r = out.result as RetentionResult;
    expect(out.status).toBe('failed');
    expect(r.rules.map((x) => x.status)).toEqual(['completed', 'completed', 'refused']);
  });
});

describe('archive-orders handler', () => {
  it('archives completed orders older than daysOld from the payload', async () => {
    await load();
    const restore = useDependencies({ config: config(), credentials: new UrlCredentialSource(serverUrl()), metrics, log: silentLog });
    try {
      const dry = await archiveOrdersHandler({ daysOld: 400, dryRun: true }, lambdaContext('dbmaint-archive-orders', 900_000));
      const expected = await count(`SELECT COUNT(*) n FROM orders WHERE status = 'completed' AND completed_at < UTC_TIMESTAMP() - INTERVAL 400 DAY`);
      expect((dry.result as RetentionResult).rules[0]).toMatchObject({ status: 'dry-run', wouldRemove: expected });
      const out = await archiveOrdersHandler({ daysOld: 400 }, lambdaContext('dbmaint-archive-orders', 900_000));
      expect((out.result as RetentionResult).rules[0]).toMatchObject({ status: 'completed', rowsArchived: expected, rowsRemaining: 0 });
      expect(await count(`SELECT COUNT(*) n FROM orders_archive WHERE status <> 'completed'`)).toBe(0);
      expect(await count(`SELECT COUNT(*) n FROM orders`)).toBe(3000 - expected);
      await expect(archiveOrdersHandler({ daysOld: 'old' }, lambdaContext('dbmaint-archive-orders', 900_000))).rejects.toThrow(/event\.daysOld/);
    } finally {
      restore();
    }
  });
});
