// analyze-tables against a real MariaDB server: stale, fresh, never-collected, dry run, deadline, hostile names.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type mysql from 'mysql2/promise';
import { UrlCredentialSource, type CredentialSource } from '../lib/db/credentials';
import { Deadline } from '../lib/runtime/deadline';
import { silentLog } from '../lib/runtime/log';
import { runTask } from '../lib/tasks/registry';
import type { TaskRunResult } from '../lib/tasks/task-module';
import type { AnalyzeResult } from '../lib/maintenance/analyze';
import type { MetricsPublisher } from '../lib/metrics/emf';
import { EventValidationError } from '../lib/events/schema';
import { adminConnection, freshSchema, serverUrl, testConfig } from './support/db';

const SCHEMA = 'analyze_t';
const LOG_SCHEMA = 'analyze_t_log';
let admin: mysql.Connection;

const published: { task: string; db: string; names: string[] }[] = [];
const metrics: MetricsPublisher = {
  publish(task, db, points) {
    published.push({ task, db, names: points.map((p) => `${p.name}=${p.value}`) });
    return undefined;
  },
};

function env(overrides: { deadline?: Deadline; credentials?: CredentialSource } = {}) {
  return {
    config: testConfig([SCHEMA], { thresholds: { analyzeAfterDays: 7 } }, LOG_SCHEMA),
    credentials: overrides.credentials ?? new UrlCredentialSource(serverUrl()),
    metrics,
    log: silentLog,
    deadline: overrides.deadline ?? Deadline.unlimited(),
  };
}

async function statsUpdatedAt(table: string): Promise<Date | null> {
  const [rows] = await admin.query<mysql.RowDataPacket[]>(
    'SELECT last_update FROM mysql.innodb_table_stats WHERE database_name = ? AND table_name = ?',
    [SCHEMA, table],
  );
  return rows[0] ? (rows[0]['last_update'] as Date) : null;
}

async function makeStale(table: string, days: number): Promise<void> {
  await admin.query(
    'UPDATE mysql.innodb_table_stats SET last_update = UTC_TIMESTAMP() - INTERVAL ? DAY WHERE database_name = ? AND table_name = ?',
    [days, SCHEMA, table],
  );
}

const HOSTILE = 'x`; DROP TABLE victim; --';
const UNICODE = 'tëst_ünï"cödé\'';

async function buildSchema(): Promise<void> {
  await freshSchema(admin, SCHEMA);
  await admin.query(`DROP DATABASE IF EXISTS \`${LOG_SCHEMA}\``);
  const ddl = (name: string, extra = '') =>
    `CREATE TABLE \`${SCHEMA}\`.\`${name.replaceAll('`', '``')}\` (id INT PRIMARY KEY, v VARCHAR(20), KEY (v)) ENGINE=InnoDB STATS_PERSISTENT=1 STATS_AUTO_RECALC=0 ${extra}`;
  for (const t of ['stale_events', 'fresh_orders', 'never_stats', 'victim', HOSTILE, UNICODE]) {
    await admin.query(ddl(t));
    await admin.query(`INSERT INTO \`${SCHEMA}\`.\`${t.replaceAll('`', '``')}\` VALUES (1,'a'),(2,'b'),(3,'c')`);
    await admin.query(`ANALYZE TABLE \`${SCHEMA}\`.\`${t.replaceAll('`', '``')}\``);
  }
  await admin.query(`CREATE TABLE \`${SCHEMA}\`.legacy_myisam (id INT PRIMARY KEY) ENGINE=MyISAM`);
  await admin.query(`CREATE TABLE \`${SCHEMA}\`.transient (id INT PRIMARY KEY) ENGINE=InnoDB STATS_PERSISTENT=0`);
  await admin.query(`CREATE VIEW \`${SCHEMA}\`.v_events AS SELECT id FROM \`${SCHEMA}\`.stale_events`);
  for (const t of ['stale_events', 'victim', HOSTILE, UNICODE]) await makeStale(t, 30);
  await admin.query('DELETE FROM mysql.innodb_table_stats WHERE database_name = ? AND table_name = ?', [SCHEMA, 'never_stats']);
}

function byName(result: TaskRunResult): Map<string, AnalyzeResult['tables'][number]> {
  const r = result.result as AnalyzeResult;
  return new Map(r.tables.map((t) => [t.table, t]));
}

beforeAll(async () => {
  admin = await adminConnection();
});
afterAll(async () => {
  await admin.end();
});

describe('analyze-tables', () => {
  it('dry run reports stale and never-collected tables and changes nothing', async () => {
    await buildSchema();
    const before = await statsUpdatedAt('stale_events');
    const out = await runTask('analyze-tables', { dryRun: true }, env());
    const t = byName(out);
    expect(out.status).toBe('succeeded');
    expect(t.get('stale_events')).toMatchObject({ action: 'would-analyze', reason: 'stale' });
    expect(t.get('never_stats')).toMatchObject({ action: 'would-analyze', reason: 'never-collected' });
    expect(t.get('fresh_orders')).toMatchObject({ action: 'fresh' });
    expect(await statsUpdatedAt('stale_events')).toEqual(before);
    expect(await statsUpdatedAt('never_stats')).toBeNull();
    // The run log schema is not even created by a dry run.
    const [schemas] = await admin.query<mysql.RowDataPacket[]>('SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [LOG_SCHEMA]);
    expect(schemas).toHaveLength(0);
  });

  it('analyzes stale and never-collected tables, skips fresh, non-InnoDB, transient and views', async () => {
    await buildSchema();
    const staleBefore = (await statsUpdatedAt('stale_events'))!;
    const freshBefore = await statsUpdatedAt('fresh_orders');
    published.length = 0;
    const out = await runTask('analyze-tables', {}, env());
    const t = byName(out);
    expect(out.status).toBe('succeeded');
    expect(t.get('stale_events')).toMatchObject({ action: 'analyzed', reason: 'stale' });
    expect(t.get('stale_events')!.durationMs).toBeGreaterThanOrEqual(0);
    expect(t.get('never_stats')).toMatchObject({ action: 'analyzed', reason: 'never-collected' });
    expect(t.get('fresh_orders')).toMatchObject({ action: 'fresh' });
    expect(t.get('legacy_myisam')).toMatchObject({ action: 'skipped' });
    expect(t.get('legacy_myisam')!.detail).toMatch(/MyISAM engine/);
    expect(t.get('transient')).toMatchObject({ action: 'skipped' });
    expect(t.has('v_events')).toBe(false);
    expect((out.result as AnalyzeResult).viewsIgnored).toBe(1);

    expect((await statsUpdatedAt('stale_events'))!.getTime()).toBeGreaterThan(staleBefore.getTime());
    expect(await statsUpdatedAt('never_stats')).not.toBeNull();
    expect(await statsUpdatedAt('fresh_orders')).toEqual(freshBefore);

    // Every ANALYZE is a row in the run log, completed with its end time.
    const [log] = await admin.query<mysql.RowDataPacket[]>(
      `SELECT table_name, command_type, command, ended_at, error_message FROM \`${LOG_SCHEMA}\`.command_log WHERE run_id = ? ORDER BY id`,
      [out.runId],
    );
    expect(log.map((r) => r['table_name']).sort()).toEqual(['never_stats', 'stale_events', 'victim', HOSTILE, UNICODE].sort());
    for (const r of log) {
      expect(r['command_type']).toBe('ANALYZE');
      expect(r['ended_at']).not.toBeNull();
      expect(r['error_message']).toBeNull();
    }
    expect(published).toEqual([
      {
        task: 'analyze-tables',
        db: 'test',
        names: expect.arrayContaining(['TaskSucceeded=1', 'TaskFailed=0', 'TablesAnalyzed=5', 'TablesFailed=0']),
      },
    ]);
  });

  it('quotes hostile and unicode table names read from the server', async () => {
    await buildSchema();
    const out = await runTask('analyze-tables', {}, env());
    const t = byName(out);
    expect(t.get(HOSTILE)).toMatchObject({ action: 'analyzed' });
    expect(t.get(UNICODE)).toMatchObject({ action: 'analyzed' });
    const [victim] = await admin.query<mysql.RowDataPacket[]>(`SELECT COUNT(*) AS n FROM \`${SCHEMA}\`.victim`);
    expect(victim[0]!['n']).toBe(3);
  });

  it('restricts the run to the tables named in the event, and force analyzes fresh ones', async () => {
    await buildSchema();
    const freshBefore = (await statsUpdatedAt('fresh_orders'))!;
    await new Promise((r) => setTimeout(r, 1100)); // last_update has one-second resolution
    const out = await runTask('analyze-tables', { tables: [`${SCHEMA}.fresh_orders`], force: true }, env());
    const r = out.result as AnalyzeResult;
    expect(r.tables.map((x) => x.table)).toEqual(['fresh_orders']);
    expect(r.tables[0]).toMatchObject({ action: 'analyzed', reason: 'forced' });
    expect((await statsUpdatedAt('fresh_orders'))!.getTime()).toBeGreaterThan(freshBefore.getTime());
    // stale_events was not named, so it is still stale.
    expect((await statsUpdatedAt('stale_events'))!.getTime()).toBeLessThan(Date.now() - 20 * 86_400_000);
  });

  it('stops at the deadline and reports what is left for the next run', async () => {
    await buildSchema();
    const out = await runTask('analyze-tables', {}, env({ deadline: new Deadline(Date.now() + 5_000) }));
    const r = out.result as AnalyzeResult;
    expect(out.status).toBe('stopped-at-deadline');
    expect(r.stoppedAtDeadline).toBe(true);
    expect(r.counts.analyzed).toBe(0);
    expect(r.remaining).toHaveLength(5);
    expect(await statsUpdatedAt('never_stats')).toBeNull();
    // The next run with time to spare finishes the job.
    const next = await runTask('analyze-tables', {}, env());
    expect((next.result as AnalyzeResult).counts.analyzed).toBe(5);
  });

  it('rejects a table that does not exist before running any ANALYZE', async () => {
    await buildSchema();
    await expect(runTask('analyze-tables', { tables: ['no_such_table'] }, env())).rejects.toThrow(
      /event.tables\[0\]: table 'no_such_table' does not exist/,
    );
    expect(await statsUpdatedAt('never_stats')).toBeNull();
  });

  it('rejects malformed payloads without opening a connection', async () => {
    const noConnection: CredentialSource = {
      get: () => {
        throw new Error('a connection was attempted');
      },
    };
    const bad: [unknown, RegExp][] = [
      [{ tables: ['events; DROP TABLE x'] }, /event\.tables\[0\]: must be table or schema\.table/],
      [{ tables: ['other_schema.events'] }, /event\.tables\[0\]: schema 'other_schema' is not one of target 'test' schemas/],
      [{ dryRun: 'yes' }, /event\.dryRun: /],
      [{ sql: 'DELETE FROM x' }, /unknown field\(s\) 'sql'/],
      [{ target: 'prod' }, /event\.target: unknown target 'prod'/],
      [{ task: 'cleanup-data' }, /event\.task: is 'cleanup-data' but this function runs 'analyze-tables'/],
      [{ tables: ['`x`'] }, /event\.tables\[0\]/],
      [[1, 2], /expected a JSON object/],
    ];
    for (const [event, message] of bad) {
      const err = await runTask('analyze-tables', event, env({ credentials: noConnection })).catch((e: unknown) => e);
      expect(err, JSON.stringify(event)).toBeInstanceOf(EventValidationError);
      expect((err as Error).message).toMatch(message);
    }
  });

  it('reports a failed connection as a task failure with a clear message and a TaskFailed metric', async () => {
    published.length = 0;
    const wrong = serverUrl().replace(/:[^:@/]+@/, ':wrong-password@');
    const err = await runTask('analyze-tables', {}, env({ credentials: new UrlCredentialSource(wrong) })).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/access denied connecting to 127\.0\.0\.1:\d+/);
    expect((err as Error).message).not.toContain('wrong-password');
    expect(published).toEqual([{ task: 'analyze-tables', db: 'test', names: expect.arrayContaining(['TaskFailed=1', 'TaskSucceeded=0']) }]);
  });
});

describe('least privilege (the grants of docs/grants.md)', () => {
  it('analyzes with exactly the documented grants', async () => {
    await buildSchema();
    await admin.query(`DROP USER IF EXISTS 'dbmaint_ro'@'%'`);
    await admin.query(`CREATE USER 'dbmaint_ro'@'%' IDENTIFIED BY 'ro-pass'`);
    // The statements docs/grants.md lists for analyze-tables and the run log.
    await admin.query(`GRANT SELECT, INSERT ON \`${SCHEMA}\`.* TO 'dbmaint_ro'@'%'`);
    await admin.query(`GRANT SELECT ON mysql.innodb_table_stats TO 'dbmaint_ro'@'%'`);
    await admin.query(`GRANT CREATE, SELECT, INSERT, UPDATE ON \`${LOG_SCHEMA}\`.* TO 'dbmaint_ro'@'%'`);
    const url = serverUrl().replace(/\/\/[^@]+@/, '//dbmaint_ro:ro-pass@');
    const out = await runTask('analyze-tables', {}, env({ credentials: new UrlCredentialSource(url) }));
    expect(out.status).toBe('succeeded');
    expect((out.result as AnalyzeResult).counts.analyzed).toBe(5);
    // Modification counters need PROCESS, which the minimal grants leave out: the run says so and goes on.
    expect((out.result as AnalyzeResult).modificationCounters).toBe(false);
    const [log] = await admin.query<mysql.RowDataPacket[]>(`SELECT COUNT(*) AS n FROM \`${LOG_SCHEMA}\`.command_log WHERE run_id = ?`, [out.runId]);
    expect(log[0]!['n']).toBe(5);

    // Without SELECT on mysql.innodb_table_stats the task fails with the grant to add.
    await admin.query(`REVOKE SELECT ON mysql.innodb_table_stats FROM 'dbmaint_ro'@'%'`);
    await expect(runTask('analyze-tables', {}, env({ credentials: new UrlCredentialSource(url) }))).rejects.toThrow(
      /GRANT SELECT ON mysql\.innodb_table_stats/,
    );
  });
});
