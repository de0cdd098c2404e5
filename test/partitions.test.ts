// Retention on RANGE-partitioned tables against MariaDB: whole expired partitions dropped as metadata changes, the boundary partition purged exactly by the row engine, the dry run, a busy table, and the layouts that stay with the row engine.
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UrlCredentialSource } from '../lib/db/credentials';
import type { MetricsPublisher } from '../lib/metrics/emf';
import { Deadline } from '../lib/runtime/deadline';
import { silentLog } from '../lib/runtime/log';
import type { RetentionResult } from '../lib/tasks/retention-task';
import type { RecommendationsResult } from '../lib/recommend/types';
import { runTask } from '../lib/tasks/registry';
import { adminConnection, freshSchema, serverUrl, testConfig, testTarget } from './support/db';
import { rule as engineRule, run as runEngine } from './support/retention';

const S = 'part_t';
const DAYS = 12;
let admin: mysql.Connection;
const metrics: MetricsPublisher = { publish: () => undefined };

type Rule = Record<string, unknown>;
/** One clock for the runs and the checks: the cutoff is the same instant in both (rows sit on whole minutes). */
const NOW = new Date(Math.floor(Date.now() / 60_000) * 60_000 + 30_000);
function env(rules: Rule[]) {
  return { config: testConfig([S], { targets: [testTarget([S], { cleanupRules: rules })] }), credentials: new UrlCredentialSource(serverUrl()), metrics, log: silentLog, deadline: Deadline.unlimited(), now: () => NOW };
}
const RULE = { table: 'events', dateColumn: 'created_at', retentionDays: 5, action: 'delete' };

async function rows<T>(sql: string, params: unknown[] = []): Promise<T[]> {
  const [r] = await admin.query(sql, params);
  return r as T[];
}

/**
 * `events`, partitioned by day on TO_DAYS(created_at): one partition per day of the last DAYS days (p_d12 oldest … p_d1),
 * one for today and later (pmax). 100 rows every day, spread over its hours.
 */
async function createEvents(opts: { partitioning?: string } = {}): Promise<void> {
  await admin.query(`DROP TABLE IF EXISTS ${S}.events`);
  const days = Array.from({ length: DAYS }, (_, i) => DAYS - i); // 12 … 1
  const partitioning =
    opts.partitioning ??
    `PARTITION BY RANGE (TO_DAYS(created_at)) (${days.map((d) => `PARTITION p_d${d} VALUES LESS THAN (TO_DAYS(UTC_DATE() - INTERVAL ${d - 1} DAY))`).join(', ')}, PARTITION pmax VALUES LESS THAN MAXVALUE)`;
  // The partition bounds are constants in the definition: build them as literals.
  const [[today]] = (await admin.query('SELECT TO_DAYS(UTC_DATE()) AS d')) as unknown as [[{ d: number }]];
  const literal = partitioning.replace(/TO_DAYS\(UTC_DATE\(\) - INTERVAL (\d+) DAY\)/g, (_, n: string) => String(today.d - Number(n)));
  await admin.query(
    `CREATE TABLE ${S}.events (id BIGINT NOT NULL AUTO_INCREMENT, created_at DATETIME NOT NULL, note VARCHAR(20) NOT NULL, PRIMARY KEY (id, created_at), KEY ix_created (created_at)) ENGINE=InnoDB ${literal}`,
  );
  await admin.query(`USE ${S}`);
  await admin.query(`INSERT INTO events (created_at, note) SELECT UTC_DATE() - INTERVAL (seq DIV 100) DAY + INTERVAL ((seq % 100) * 864 / 60) MINUTE, CONCAT('r', seq) FROM seq_0_to_${DAYS * 100 + 99}`);
  await admin.query('ANALYZE TABLE events');
}

async function state(): Promise<{ old: number; young: number; total: number; partitions: string[] }> {
  const [c] = await rows<{ old: string; young: string; total: number }>(
    `SELECT SUM(created_at < ? - INTERVAL 5 DAY) AS old, SUM(created_at >= ? - INTERVAL 5 DAY) AS young, COUNT(*) AS total FROM ${S}.events`,
    [NOW, NOW],
  );
  const parts = await rows<{ p: string }>(`SELECT PARTITION_NAME AS p FROM information_schema.PARTITIONS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'events' ORDER BY PARTITION_ORDINAL_POSITION`, [S]);
  return { old: Number(c!.old ?? 0), young: Number(c!.young ?? 0), total: Number(c!.total), partitions: parts.map((p) => p.p) };
}

/** Runs `fn` while another session holds the table's metadata lock: an open transaction that read it (`sql`). */
async function whileHeld<T>(sql: string, fn: (holder: mysql.Connection) => Promise<T>): Promise<T> {
  const holder = await adminConnection();
  await holder.query('START TRANSACTION');
  await holder.query(sql);
  try {
    return await fn(holder);
  } finally {
    await holder.query('COMMIT');
    await holder.end();
  }
}

async function cleanup(extra: Record<string, unknown> = {}, rules: Rule[] = [RULE]) {
  const run = await runTask('cleanup-data', { target: 'test', ...extra }, env(rules));
  return (run.result as RetentionResult).rules[0]!;
}

beforeAll(async () => {
  admin = await adminConnection();
  await freshSchema(admin, S);
});
afterAll(async () => {
  await admin?.end();
});

describe('a delete rule on a table partitioned by day', () => {
  it('dry run: lists each partition it would drop with its row estimate, and changes nothing', async () => {
    await createEvents();
    const before = await state();
    const r = await cleanup({ dryRun: true });
    expect(r.status).toBe('dry-run');
    // Partitions p_d12 … p_d6 hold only days before the cutoff's day (now − 5 days lies in p_d5's day... or p_d6's).
    const names = r.partitions!.map((p) => p.partition);
    expect(names[0]).toBe('p_d12');
    expect(r.partitions!.every((p) => p.action === 'would-drop' && p.rowsEstimated)).toBe(true);
    expect(r.wouldRemove).toBe(before.old);
    expect(await state()).toEqual(before);
  });

  it('drops every partition wholly older than the cutoff, purges the boundary partition exactly, keeps every young row', async () => {
    await createEvents();
    const before = await state();
    const r = await cleanup();
    expect(r.status).toBe('completed');
    const dropped = r.partitions!.filter((p) => p.action === 'dropped');
    // The cutoff (now − 5 days) lies inside the day of p_d5 or p_d6: every older day's partition goes whole.
    expect(dropped.length).toBeGreaterThanOrEqual(6);
    expect(dropped.map((p) => p.partition)).toEqual(Array.from({ length: dropped.length }, (_, i) => `p_d${DAYS - i}`));
    const after = await state();
    expect(after.old).toBe(0);
    expect(after.young).toBe(before.young);
    expect(after.partitions).toEqual(before.partitions.slice(dropped.length));
    // A dropped partition's rows are the server's estimate (counting would read them all); the boundary's are exact.
    expect(dropped.every((p) => p.rowsEstimated === true)).toBe(true);
    expect(r.rowsDeleted - dropped.reduce((n, p) => n + p.rows, 0)).toBe(before.old - dropped.length * 100);
    // One DDL for all of them, in the run log.
    const log = await rows<{ command: string }>(`SELECT command FROM ${S}_log.command_log WHERE command_type = 'DROP_PARTITION' AND ended_at IS NOT NULL AND error_number IS NULL ORDER BY id DESC LIMIT 1`);
    expect(log.map((l) => l.command)).toEqual([`ALTER TABLE \`${S}\`.\`events\` DROP PARTITION ${dropped.map((p) => `\`${p.partition}\``).join(', ')}`]);
    // A second run finds nothing more to drop.
    const again = await cleanup();
    expect(again.partitions).toEqual([]);
    expect(again.rowsDeleted).toBe(0);
  });

  it('skips a busy table instead of queueing the application behind the ALTER: the row engine purges the rows instead', async () => {
    await createEvents();
    const before = await state();
    // An open transaction that read the table holds its metadata lock until it ends.
    await whileHeld(`SELECT COUNT(*) FROM ${S}.events WHERE created_at < UTC_TIMESTAMP() - INTERVAL 11 DAY`, async (holder) => {
      const r = await cleanup();
      expect(r.partitions![0]).toMatchObject({ partition: 'p_d12', action: 'skipped', reason: expect.stringMatching(/^busy: /) });
      expect(r.partitions!.every((p) => p.action === 'skipped')).toBe(true);
      expect(r.partitions!.filter((p) => p.action === 'dropped')).toEqual([]);
      // The application's reads and writes never waited: its transaction goes on.
      await holder.query(`INSERT INTO ${S}.events (created_at, note) VALUES (UTC_TIMESTAMP(), 'app')`);
    });
    const after = await state();
    expect(after.old).toBe(0);
    expect(after.young).toBe(before.young + 1);
    expect(after.partitions).toEqual(before.partitions);
  });
});

describe('layouts the row engine purges', () => {
  it('partitioned by RANGE on another column: pruning on the date excludes no partition, so none is dropped', async () => {
    await createEvents({ partitioning: 'PARTITION BY RANGE (id) (PARTITION a VALUES LESS THAN (400), PARTITION b VALUES LESS THAN (800), PARTITION c VALUES LESS THAN MAXVALUE)' });
    const before = await state();
    const r = await cleanup();
    expect(r.partitions).toEqual([]);
    const after = await state();
    expect(after).toEqual({ ...before, old: 0, total: before.total - before.old });
  });

  it.each([
    ['HASH partitioning', 'PARTITION BY HASH (id) PARTITIONS 4', RULE, /HASH partitioning/],
    ['a rule with where', undefined, { ...RULE, where: [{ column: 'note', op: '!=', value: 'keep' }] }, /`where` conditions/],
  ])('%s: no partition dropped, the reason in the result, every old row purged', async (_what, partitioning, rule, reason) => {
    await createEvents(partitioning ? { partitioning } : {});
    const before = await state();
    const r = await cleanup({}, [rule as Rule]);
    expect(r.partitions).toBeUndefined();
    expect(r.partitionPath).toMatch(reason);
    const after = await state();
    expect(after.old).toBe(0);
    expect(after.young).toBe(before.young);
    expect(after.partitions).toEqual(before.partitions);
  });
});

describe('an archive rule on a table partitioned by day: EXCHANGE PARTITION into a staging table, then into the archive', () => {
  const ARCHIVE_RULE = { ...RULE, action: 'archive', archiveTable: 'events_archive' };
  type Row = { id: number; created_at: Date; note: string };
  const key = (r: Row) => `${r.id}|${r.created_at.toISOString()}|${r.note}`;

  async function stagingTables(): Promise<string[]> {
    return (await rows<{ t: string }>("SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME LIKE '\\_dbmx\\_%' ORDER BY 1", [S])).map((r) => r.t);
  }
  /** Every row wherever it is (source, staging tables, archive), each once: the invariant a kill at any point must keep. */
  async function everywhere(): Promise<string[]> {
    const tables = ['events', ...(await stagingTables()), ...((await rows<{ n: number }>(`SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'events_archive'`, [S]))[0]!.n ? ['events_archive'] : [])];
    const all: string[] = [];
    for (const t of tables) all.push(...(await rows<Row>(`SELECT id, created_at, note FROM ${S}.${t}`)).map(key));
    return all.sort();
  }

  it('archives every wholly expired partition exactly once, purges the boundary partition by rows, leaves no staging table', async () => {
    await admin.query(`DROP TABLE IF EXISTS ${S}.events_archive`);
    await createEvents();
    const before = await state();
    const all = await everywhere();
    const dry = await cleanup({ dryRun: true }, [ARCHIVE_RULE]);
    expect(dry.partitions!.length).toBeGreaterThanOrEqual(6);
    expect(dry.partitions!.every((p) => p.action === 'would-exchange')).toBe(true);
    const r = await cleanup({}, [ARCHIVE_RULE]);
    expect(r.status).toBe('completed');
    const exchanged = r.partitions!.filter((p) => p.action === 'exchanged');
    expect(exchanged.map((p) => p.partition)).toEqual(dry.partitions!.map((p) => p.partition));
    expect(exchanged.every((p) => p.rows === 100)).toBe(true);
    expect(r.rowsArchived).toBe(before.old);
    const after = await state();
    expect(after.old).toBe(0);
    expect(after.young).toBe(before.young);
    expect(after.partitions).toEqual(before.partitions.slice(exchanged.length));
    expect(await stagingTables()).toEqual([]);
    expect(await everywhere()).toEqual(all);
    const [archived] = await rows<{ n: number }>(`SELECT COUNT(*) AS n FROM ${S}.events_archive`);
    expect(Number(archived!.n)).toBe(before.old);
  });

  it('a busy table: the EXCHANGE gives up after its short lock wait, the row engine archives the rows, nothing is lost; the next run removes what it left', async () => {
    await admin.query(`DROP TABLE IF EXISTS ${S}.events_archive`);
    for (const t of await stagingTables()) await admin.query(`DROP TABLE ${S}.${t}`);
    await createEvents();
    const before = await state();
    const all = await everywhere();
    const r = await whileHeld(`SELECT COUNT(*) FROM ${S}.events WHERE created_at < UTC_TIMESTAMP() - INTERVAL 11 DAY`, () => cleanup({}, [ARCHIVE_RULE]));
    expect(r.partitions![0]).toMatchObject({ action: 'skipped', reason: expect.stringMatching(/^busy: metadata lock not granted within 2 s/) });
    expect(r.status).toBe('completed');
    const after = await state();
    expect(after.old).toBe(0);
    expect(after.young).toBe(before.young);
    expect(await everywhere()).toEqual(all);
    // The empty staging table left beside its partition is dropped and made again by the next run; nothing more to move.
    const next = await cleanup({}, [ARCHIVE_RULE]);
    expect(next.status).toBe('completed');
    expect(await stagingTables()).toEqual([]);
    expect(await everywhere()).toEqual(all);
  });

  it.each(['staging-created', 'exchanged', 'moved', 'partition-dropped', 'staging-dropped', 'inside a chunk of the move'] as const)(
    'killed after %s: every row is in the source, a staging table or the archive exactly once, and the next run finishes the job',
    async (at) => {
      await admin.query(`DROP TABLE IF EXISTS ${S}.events_archive`);
      for (const t of await stagingTables()) await admin.query(`DROP TABLE ${S}.${t}`);
      await createEvents();
      const before = await state();
      const all = await everywhere();
      const kill = new Error(`killed after ${at}`);
      const r = engineRule(S, 'events', { retentionDays: 5, action: 'archive', archiveTable: 'events_archive' });
      const faults =
        at === 'inside a chunk of the move'
          ? { betweenInsertAndDelete: async () => Promise.reject(kill) }
          : { afterPartitionStep: async (step: string, partition: string) => (step === at && partition === 'p_d11' ? Promise.reject(kill) : undefined) };
      const settings = { initialChunkRows: 40, minChunkRows: 40, maxChunkRows: 40 };
      if (at === 'inside a chunk of the move') {
        // The chunk's transaction is rolled back and the rule fails, naming the staging table it left.
        const failed = await runEngine(r, { faults, settings, now: NOW });
        expect(failed).toMatchObject({ status: 'failed', message: expect.stringMatching(/^archiving a partition's staging table failed/) });
      } else await expect(runEngine(r, { faults, settings, now: NOW })).rejects.toThrow(kill.message);
      expect(await everywhere()).toEqual(all);
      // The next run: done, each row once, nothing left behind.
      const done = await runEngine(r, { now: NOW });
      expect(done.status).toBe('completed');
      expect(await everywhere()).toEqual(all);
      expect(await stagingTables()).toEqual([]);
      const after = await state();
      expect(after.old).toBe(0);
      expect(after.young).toBe(before.young);
      const [archived] = await rows<{ n: number }>(`SELECT COUNT(*) AS n FROM ${S}.events_archive`);
      expect(Number(archived!.n)).toBe(before.old);
    },
  );
});

describe('future partitions (partitioning: { interval, ahead })', () => {
  const RUNWAY = { ...RULE, table: 'runway', partitioning: { interval: 'day', ahead: 3 } };
  /** `runway`, daily partitions up to and including today (bounds as TO_DAYS literals), then MAXVALUE when asked; a few rows per day. */
  async function createRunwayTable(opts: { maxvalue: boolean; maxvalueRow?: boolean }): Promise<void> {
    await admin.query(`DROP TABLE IF EXISTS ${S}.runway`);
    await admin.query(`USE ${S}`);
    const [[t]] = (await admin.query('SELECT TO_DAYS(UTC_DATE()) AS d')) as unknown as [[{ d: number }]];
    const parts = [3, 2, 1, 0].map((back) => `PARTITION d${back} VALUES LESS THAN (${t.d - back + 1})`);
    if (opts.maxvalue) parts.push('PARTITION pmax VALUES LESS THAN MAXVALUE');
    await admin.query(
      `CREATE TABLE ${S}.runway (id BIGINT NOT NULL AUTO_INCREMENT, created_at DATETIME NOT NULL, note VARCHAR(20) NOT NULL, PRIMARY KEY (id, created_at), KEY ix_created (created_at)) PARTITION BY RANGE (TO_DAYS(created_at)) (${parts.join(', ')})`,
    );
    await admin.query(`INSERT INTO ${S}.runway (created_at, note) SELECT UTC_DATE() - INTERVAL (seq % 4) DAY + INTERVAL 1 HOUR, 'r' FROM seq_1_to_40`);
    if (opts.maxvalueRow) await admin.query(`INSERT INTO ${S}.runway (created_at, note) VALUES (UTC_DATE() + INTERVAL 30 DAY, 'future')`);
  }
  const partitionNames = async () =>
    (await rows<{ p: string }>(`SELECT PARTITION_NAME AS p FROM information_schema.PARTITIONS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'runway' ORDER BY PARTITION_ORDINAL_POSITION`, [S])).map((r) => r.p);
  const day = (n: number) => new Date(Date.UTC(NOW.getUTCFullYear(), NOW.getUTCMonth(), NOW.getUTCDate() + n)).toISOString().slice(0, 10).replace(/-/g, '');

  it.each([
    ['no MAXVALUE partition: ADD PARTITION', false],
    ['an empty MAXVALUE partition: split with REORGANIZE PARTITION', true],
  ])('%s keeps three future days, a metadata change only; the dry run lists them; a second run adds none', async (_what, maxvalue) => {
    await createRunwayTable({ maxvalue });
    const dry = await cleanup({ dryRun: true }, [RUNWAY]);
    expect(dry.partitionsAhead).toBe(0);
    expect(dry.partitions!.filter((p) => p.action === 'would-create').map((p) => p.partition)).toEqual([day(1), day(2), day(3)].map((d) => `p${d}`));
    const r = await cleanup({}, [RUNWAY]);
    expect(r.partitions!.filter((p) => p.action === 'created').map((p) => p.partition)).toEqual([day(1), day(2), day(3)].map((d) => `p${d}`));
    expect(r.partitionsAhead).toBe(3);
    expect(await partitionNames()).toEqual(['d3', 'd2', 'd1', 'd0', `p${day(1)}`, `p${day(2)}`, `p${day(3)}`, ...(maxvalue ? ['pmax'] : [])]);
    // A row of the day after tomorrow goes into its own partition now (without MAXVALUE the insert failed before).
    await admin.query(`INSERT INTO ${S}.runway (created_at, note) VALUES (UTC_DATE() + INTERVAL 2 DAY + INTERVAL 5 HOUR, 'soon')`);
    const [inP] = await rows<{ n: number }>(`SELECT COUNT(*) AS n FROM ${S}.runway PARTITION (p${day(2)})`);
    expect(Number(inP!.n)).toBe(1);
    const again = await cleanup({}, [RUNWAY]);
    expect(again.partitions!.filter((p) => p.action === 'created')).toEqual([]);
    expect(again.partitionsAhead).toBe(3);
    const [ddl] = await rows<{ n: number }>(`SELECT COUNT(*) AS n FROM ${S}_log.command_log WHERE command_type = 'ADD_PARTITION' AND table_name = 'runway' AND error_number IS NULL AND ended_at IS NOT NULL`);
    expect(Number(ddl!.n)).toBeGreaterThanOrEqual(1);
  });

  it('a busy table gets no new partitions this run (the ALTER gives up after its short lock wait), and the next run adds them', async () => {
    await createRunwayTable({ maxvalue: false });
    const r = await whileHeld(`SELECT COUNT(*) FROM ${S}.runway`, () => cleanup({}, [RUNWAY]));
    expect(r.partitions!.filter((p) => p.action === 'skipped').map((p) => p.reason)).toEqual([1, 2, 3].map(() => expect.stringMatching(/^busy: /)));
    expect(r.partitionsAhead).toBe(0);
    expect(await partitionNames()).toEqual(['d3', 'd2', 'd1', 'd0']);
    const next = await cleanup({}, [RUNWAY]);
    expect(next.partitionsAhead).toBe(3);
  });

  it('a MAXVALUE partition holding rows is not split (it would copy them): nothing created, the reason and the statement in the result, MinPartitionsAhead 0', async () => {
    await createRunwayTable({ maxvalue: true, maxvalueRow: true });
    const published: Record<string, number>[] = [];
    const run = await runTask('cleanup-data', { target: 'test' }, { ...env([RUNWAY]), metrics: { publish: (_t, _d, points) => void published.push(Object.fromEntries(points.map((p) => [p.name, p.value]))) } });
    const r = (run.result as RetentionResult).rules[0]!;
    expect(r.partitionsAhead).toBe(0);
    expect(r.runwayProblem).toMatch(/^pmax \(MAXVALUE\) holds rows: splitting it would copy them, so dbmaint does not; run at a quiet time: ALTER TABLE `part_t`.`runway` REORGANIZE PARTITION `pmax` INTO \(/);
    expect(await partitionNames()).toEqual(['d3', 'd2', 'd1', 'd0', 'pmax']);
    expect(published.find((p) => 'MinPartitionsAhead' in p)?.['MinPartitionsAhead']).toBe(0);
  });
});

describe('recommendations', () => {
  const recommend = async (rules: Rule[]) => {
    const e = env(rules);
    const config = testConfig([S], { recommendations: { largeTableGb: 0.00001 }, targets: [testTarget([S], { cleanupRules: rules })] });
    const run = await runTask('recommendations', { target: 'test' }, { ...e, config });
    return (run.result as RecommendationsResult).items;
  };

  it('PARTITION_CANDIDATE: a large unpartitioned table with a delete rule gets the exact ALTER (primary key included), which partitions it so that the next purge drops partitions', async () => {
    await admin.query(`DROP TABLE IF EXISTS ${S}.flat`);
    await admin.query(`CREATE TABLE ${S}.flat (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, created_at DATETIME NOT NULL, note VARCHAR(20) NOT NULL, KEY ix_created (created_at)) ENGINE=InnoDB`);
    await admin.query(`USE ${S}`);
    await admin.query(`INSERT INTO flat (created_at, note) SELECT UTC_DATE() - INTERVAL (seq DIV 100) DAY + INTERVAL 1 HOUR, 'x' FROM seq_0_to_999`);
    await admin.query('ANALYZE TABLE flat');
    const FLAT = { ...RULE, table: 'flat' };
    const items = (await recommend([FLAT])).filter((i) => i.code === 'PARTITION_CANDIDATE');
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ object: `${S}.flat`, priority: 'medium', evidence: { interval: 'day', primaryKeyChange: true } });
    const alter = items[0]!.fix!.split('  — ')[0]!;
    expect(alter).toMatch(/^ALTER TABLE `part_t`\.`flat` DROP PRIMARY KEY, ADD PRIMARY KEY \(`id`, `created_at`\) PARTITION BY RANGE \(TO_DAYS\(`created_at`\)\) \(PARTITION p_before VALUES LESS THAN \(TO_DAYS\('\d{4}-\d{2}-\d{2}'\)\), PARTITION p\d{8} /);
    // The statement is real: run as given, the table is partitioned, every row kept, and cleanup then drops whole days.
    await admin.query(alter);
    const [n] = await rows<{ n: number }>(`SELECT COUNT(*) AS n FROM ${S}.flat`);
    expect(Number(n!.n)).toBe(1000);
    const r = await cleanup({}, [FLAT]);
    expect(r.partitions!.filter((p) => p.action === 'dropped').length).toBeGreaterThan(0);
    expect((await recommend([FLAT])).filter((i) => i.code === 'PARTITION_CANDIDATE')).toEqual([]);
  });

  it('PARTITION_RUNWAY: a configured runway that cannot grow (MAXVALUE holds rows) gets the REORGANIZE statement; a table without MAXVALUE and no partition for tomorrow is high', async () => {
    await admin.query(`DROP TABLE IF EXISTS ${S}.tight`);
    const [[t]] = (await admin.query('SELECT TO_DAYS(UTC_DATE()) AS d')) as unknown as [[{ d: number }]];
    await admin.query(
      `CREATE TABLE ${S}.tight (id BIGINT NOT NULL AUTO_INCREMENT, created_at DATETIME NOT NULL, PRIMARY KEY (id, created_at), KEY (created_at)) PARTITION BY RANGE (TO_DAYS(created_at)) (PARTITION a VALUES LESS THAN (${t.d}), PARTITION b VALUES LESS THAN (${t.d + 1}))`,
    );
    const high = (await recommend([{ ...RULE, table: 'tight' }])).filter((i) => i.code === 'PARTITION_RUNWAY');
    expect(high).toMatchObject([{ object: `${S}.tight`, priority: 'high', evidence: { partitionsAhead: 0, maxvalue: false, configured: false } }]);
    expect(high[0]!.message).toMatch(/an insert beyond its last partition fails/);
    expect(high[0]!.fix).toMatch(/^ALTER TABLE `part_t`\.`tight` ADD PARTITION \(PARTITION `p\d{8}` VALUES LESS THAN \(\d+\)\)$/);
    await admin.query(`DROP TABLE IF EXISTS ${S}.runway`);
    await admin.query(
      `CREATE TABLE ${S}.runway (id BIGINT NOT NULL AUTO_INCREMENT, created_at DATETIME NOT NULL, PRIMARY KEY (id, created_at), KEY (created_at)) PARTITION BY RANGE (TO_DAYS(created_at)) (PARTITION a VALUES LESS THAN (${t.d + 1}), PARTITION pmax VALUES LESS THAN MAXVALUE)`,
    );
    await admin.query(`INSERT INTO ${S}.runway (created_at) VALUES (UTC_DATE() + INTERVAL 9 DAY)`);
    const medium = (await recommend([{ ...RULE, table: 'runway', partitioning: { interval: 'day', ahead: 3 } }])).filter((i) => i.code === 'PARTITION_RUNWAY');
    expect(medium).toMatchObject([{ object: `${S}.runway`, priority: 'medium', evidence: { partitionsAhead: 0, maxvalue: true, configured: true } }]);
    expect(medium[0]!.fix).toMatch(/^ALTER TABLE `part_t`\.`runway` REORGANIZE PARTITION `pmax` INTO \(/);
  });
});

describe('collect-statistics', () => {
  it('reads each partitioned table’s partitions: count, rows, bytes, the largest, oldest and newest', async () => {
    await createEvents();
    await admin.query(`ANALYZE TABLE ${S}.events`);
    const run = await runTask('collect-statistics', { target: 'test' }, env([]));
    const p = (run.result as { partitioned?: { table: string; method: string; partitions: number; rowsEstimate: number; oldest: { name: string }; newest: { name: string; bound: string } }[] }).partitioned;
    const events = p?.find((t) => t.table === `${S}.events`);
    expect(events).toMatchObject({ method: 'RANGE', partitions: DAYS + 1, oldest: { name: 'p_d12' }, newest: { name: 'pmax', bound: 'MAXVALUE' } });
    expect(events!.rowsEstimate).toBeGreaterThan(0);
  });
});
