// excludeTables at run time (issue 16, finding 5) and payload tables named twice (finding 10), on real MariaDB: a scheduled
// or routine cleanup never touches an excluded table, even when the configuration reached the runner unvalidated.
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DbMaintConfig } from '../lib/config/schema';
import { UrlCredentialSource } from '../lib/db/credentials';
import { EventValidationError } from '../lib/events/schema';
import type { RebuildResult } from '../lib/maintenance/rebuild';
import type { MetricsPublisher } from '../lib/metrics/emf';
import { Deadline } from '../lib/runtime/deadline';
import { silentLog } from '../lib/runtime/log';
import { sameNameFor } from '../lib/tasks/exclusions';
import type { RetentionResult } from '../lib/tasks/retention-task';
import { runTask } from '../lib/tasks/registry';
import { adminConnection, freshSchema, serverUrl, testConfig, testTarget } from './support/db';

const S = 'excl_t';
let admin: mysql.Connection;
const metrics: MetricsPublisher = { publish: () => undefined };

/** A valid configuration: rules on events and sessions, events rebuilt weekly. */
const valid = testConfig([S], {
  targets: [
    testTarget([S], {
      cleanupRules: [
        { table: 'events', dateColumn: 'created_at', retentionDays: 30, action: 'delete' },
        { table: 'sessions', dateColumn: 'created_at', retentionDays: 30, action: 'delete' },
      ],
      rebuildTables: ['events'],
    }),
  ],
});

/** The same with events excluded: `cdk synth` refuses it, so it can only reach a runner some other way (a hand-built object here). */
const unvalidated: DbMaintConfig = { ...valid, targets: [{ ...valid.targets[0]!, excludeTables: ['events'] }] };

function env(config: DbMaintConfig) {
  return { config, credentials: new UrlCredentialSource(serverUrl()), metrics, log: silentLog, deadline: Deadline.unlimited() };
}

async function count(table: string): Promise<number> {
  const [rows] = await admin.query<mysql.RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${S}.${table}`);
  return Number(rows[0]!['n']);
}

/** 1000 rows per table, 600 of them older than 30 days. */
async function load(): Promise<void> {
  await freshSchema(admin, S);
  await admin.query(`USE ${S}`);
  for (const t of ['events', 'sessions']) {
    await admin.query(`CREATE TABLE ${S}.${t} (id INT PRIMARY KEY, created_at DATETIME NOT NULL, KEY (created_at))`);
    await admin.query(`INSERT INTO ${S}.${t} SELECT seq, UTC_TIMESTAMP() - INTERVAL IF(seq <= 600, 40, 1) DAY FROM seq_1_to_1000`);
  }
}

const SCHEDULED = { source: 'dbmaint.scheduler', task: 'cleanup-data', target: 'test' };
const ROUTINE = { source: 'dbmaint.routine', task: 'cleanup-data', target: 'test', routine: { id: 'daily-maintenance', execution: 'exec-1' } };

beforeAll(async () => {
  admin = await adminConnection();
});
afterAll(async () => {
  await admin.end();
});

describe('excludeTables at run time', () => {
  for (const [name, event] of [
    ['scheduled', SCHEDULED],
    ['routine', ROUTINE],
  ] as const) {
    it(`a ${name} cleanup refuses the rule on the excluded table, leaves its rows, and still runs the others`, async () => {
      await load();
      const dry = await runTask('cleanup-data', { ...event, dryRun: true }, env(unvalidated));
      const out = await runTask('cleanup-data', event, env(unvalidated));
      for (const run of [dry, out]) {
        const r = run.result as RetentionResult;
        expect(run.status).toBe('failed');
        expect(r.rules[0]).toMatchObject({
          table: `${S}.events`,
          status: 'refused',
          rowsDeleted: 0,
          message: `${S}.events is in excludeTables[0] (events) of target 'test': excluded tables are never touched; remove it there or from excludeTables`,
        });
      }
      expect((dry.result as RetentionResult).rules[1]).toMatchObject({ status: 'dry-run', wouldRemove: 600 });
      expect((out.result as RetentionResult).rules[1]).toMatchObject({ status: 'completed', rowsDeleted: 600 });
      expect(await count('events')).toBe(1000);
      expect(await count('sessions')).toBe(400);
    });
  }

  it('a payload naming the excluded table is refused before any SQL, on a scheduled run even with force', async () => {
    await load();
    const scheduled = await runTask('cleanup-data', { ...SCHEDULED, tables: ['events'], force: true }, env(unvalidated)).catch((e: unknown) => e);
    expect(scheduled).toBeInstanceOf(EventValidationError);
    expect((scheduled as Error).message).toBe(`event.tables[0]: ${S}.events is in excludeTables[0] (events) of target 'test': a scheduled or routine run never touches it, force or not`);
    const adHoc = await runTask('cleanup-data', { tables: [`${S}.events`] }, env(unvalidated)).catch((e: unknown) => e);
    expect(adHoc).toBeInstanceOf(EventValidationError);
    expect((adHoc as Error).message).toMatch(/event\.tables\[0\]: excl_t\.events is in excludeTables\[0\] .*add "force": true \(--force\) to this ad-hoc run/);
    expect(await count('events')).toBe(1000);
  });

  it('an ad-hoc payload naming it with force runs it (the operator said so)', async () => {
    await load();
    const out = await runTask('cleanup-data', { tables: ['events'], force: true }, env(unvalidated));
    expect(out.status).toBe('succeeded');
    expect((out.result as RetentionResult).rules).toMatchObject([{ table: `${S}.events`, status: 'completed', rowsDeleted: 600 }]);
    expect(await count('events')).toBe(400);
  });

  it('with a valid configuration, a payload naming an excluded table has no rule to run, and says why', async () => {
    const cfg = testConfig([S], { targets: [testTarget([S], { excludeTables: ['events'], cleanupRules: [{ table: 'sessions', dateColumn: 'created_at', retentionDays: 30, action: 'delete' }] })] });
    const err = await runTask('cleanup-data', { tables: ['events'], force: true }, env(cfg)).catch((e: unknown) => e);
    expect((err as Error).message).toBe("event.tables[0]: no cleanup rule for table 'events' on target 'test' (it is in excludeTables[0] (events), which no rule may name)");
  });

  it('rebuild-indexes: excluded rebuildTables are refused before any ALTER; an ad-hoc payload needs force', async () => {
    await load();
    const scheduled = await runTask('rebuild-indexes', { source: 'dbmaint.scheduler', task: 'rebuild-indexes', target: 'test' }, env(unvalidated)).catch((e: unknown) => e);
    expect(scheduled).toBeInstanceOf(EventValidationError);
    expect((scheduled as Error).message).toMatch(/^config\.rebuildTables\[0\]: excl_t\.events is in excludeTables\[0\] \(events\)/);
    const adHoc = await runTask('rebuild-indexes', { tables: ['events'], dryRun: true }, env(unvalidated)).catch((e: unknown) => e);
    expect((adHoc as Error).message).toMatch(/^event\.tables\[0\]: excl_t\.events is in excludeTables\[0\].*"force": true/);
    const forced = await runTask('rebuild-indexes', { tables: ['events'], dryRun: true, force: true }, env(unvalidated));
    expect((forced.result as RebuildResult).tables.map((t) => [t.table, t.action])).toEqual([['events', 'would-rebuild']]);
  });

  it('names compare as the server compares them (lower_case_table_names)', () => {
    expect(sameNameFor(0)('Events', 'events')).toBe(false);
    expect(sameNameFor(1)('Events', 'events')).toBe(true);
    expect(sameNameFor(2)('Events', 'events')).toBe(true);
  });
});

describe('a table named twice in the payload is one table', () => {
  it('cleanup-data runs its rule once; the dry run counts it once', async () => {
    await load();
    const tables = ['events', `${S}.events`, 'events'];
    const dry = await runTask('cleanup-data', { tables, dryRun: true }, env(valid));
    const d = dry.result as RetentionResult;
    expect(d.rules.map((r) => [r.table, r.wouldRemove])).toEqual([[`${S}.events`, 600]]);
    expect(dry.metrics.find((m) => m.name === 'RowsDeleted')?.value ?? 0).toBe(0);
    const out = await runTask('cleanup-data', { tables }, env(valid));
    const r = out.result as RetentionResult;
    expect(r.rules).toHaveLength(1);
    expect(r.rowsDeleted).toBe(600);
    expect(await count('events')).toBe(400);
  });

  it('rebuild-indexes rebuilds it once', async () => {
    await load();
    const out = await runTask('rebuild-indexes', { tables: ['events', `${S}.events`], dryRun: true }, env(valid));
    expect((out.result as RebuildResult).tables.map((t) => `${t.schema}.${t.table}`)).toEqual([`${S}.events`]);
  });

  it('an unqualified name matching rules in two schemas is ambiguous, not a guess', async () => {
    const two = testConfig([S, `${S}_b`], {
      targets: [
        testTarget([S, `${S}_b`], {
          cleanupRules: [
            { table: 'events', dateColumn: 'created_at', retentionDays: 30, action: 'delete' },
            { table: `${S}_b.events`, dateColumn: 'created_at', retentionDays: 30, action: 'delete' },
          ],
        }),
      ],
    });
    const err = await runTask('cleanup-data', { tables: ['events'], dryRun: true }, env(two)).catch((e: unknown) => e);
    expect((err as Error).message).toBe(`event.tables[0]: table 'events' has cleanup rules in several schemas (${S}, ${S}_b); name it as schema.table`);
  });
});
