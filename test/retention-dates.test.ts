// Date columns of retention rules against real MariaDB: text refused, integer formats, DATE cutoff day, TIMESTAMP in UTC.
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recommendationSettingsSchema } from '../lib/config/schema';
import { UrlCredentialSource } from '../lib/db/credentials';
import type { PreflightResult } from '../lib/maintenance/preflight';
import { generateRecommendations } from '../lib/recommend/generate';
import { Deadline } from '../lib/runtime/deadline';
import { silentLog } from '../lib/runtime/log';
import { renderTaskSummary } from '../lib/reporting/text-summary';
import type { RetentionResult } from '../lib/tasks/retention-task';
import { runTask } from '../lib/tasks/registry';
import { adminConnection, freshSchema, serverUrl, testConfig, testTarget } from './support/db';
import { cleanupRule } from '../lib/retention/rules';
import { rule, run, session } from './support/retention';
import { interceptStatements, type StatementEvent } from './support/statement-interceptor';

const S = 'ret_dates';
const DAY = 86_400_000;
let admin: mysql.Connection;

// A fixed start of the run, half a second past a full second and at midday UTC: the cutoff falls inside a second and a day.
const NOW = new Date(Math.floor(Date.now() / DAY) * DAY + 12 * 3_600_000 + 34 * 60_000 + 56_500);
const CUTOFF = new Date(NOW.getTime() - 30 * DAY);
const utcDay = (d: Date) => d.toISOString().slice(0, 10);
const yyyymmdd = (d: Date) => Number(utcDay(d).replace(/-/g, ''));

async function count(sql: string, params: unknown[] = []): Promise<number> {
  const [rows] = await admin.query<mysql.RowDataPacket[]>(sql, params);
  return Number(rows[0]!['n']);
}

/** `table (id, <column> <type>)` with one row per value, ids 1..n, and an index on the column. */
async function tableWith(table: string, type: string, values: readonly unknown[]): Promise<void> {
  await admin.query(`DROP TABLE IF EXISTS ${S}.${table}`);
  await admin.query(`CREATE TABLE ${S}.${table} (id INT PRIMARY KEY, d ${type} NOT NULL, pad VARCHAR(20) NOT NULL DEFAULT 'x', KEY ix_d (d)) ENGINE=InnoDB`);
  await admin.query(`INSERT INTO ${S}.${table} (id, d) VALUES ${values.map(() => '(?, ?)').join(', ')}`, values.flatMap((v, i) => [i + 1, v]));
}

const dateRule = (table: string, over: Parameters<typeof rule>[2] = {}) => rule(S, table, { dateColumn: 'd', ...over });
/** Offsets around the cutoff, in the column's unit: both sides, the boundary itself, and far off. */
const OFFSETS = [-400_000, -5000, -2, -1, 0, 1, 2, 3, 5000, 400_000];

beforeAll(async () => {
  admin = await adminConnection();
  await freshSchema(admin, S);
  await admin.query(`USE ${S}`); // MariaDB's seq_1_to_N tables need a current schema
  await admin.query(`DROP DATABASE IF EXISTS ${S}_log`);
});
afterAll(async () => {
  await admin.end();
});

describe('text date columns', () => {
  it('refuses a VARCHAR holding dd/mm/YYYY in the dry run and the run, naming its type and the conversion; nothing is deleted', async () => {
    const fmt = (d: Date) => `${utcDay(d).slice(8, 10)}/${utcDay(d).slice(5, 7)}/${utcDay(d).slice(0, 4)}`;
    // Today's rows and rows of next year, beside really old ones: as text, '01/…' sorts before any ISO cutoff.
    const values = [fmt(new Date()), `01/01/${new Date().getUTCFullYear() + 1}`, '15/03/2001', fmt(new Date(Date.now() - 400 * DAY))];
    await tableWith('visits', 'VARCHAR(10)', values);
    for (const dryRun of [true, false]) {
      const r = await run(dateRule('visits'), { dryRun, now: NOW });
      expect(r, `dryRun ${dryRun}`).toMatchObject({ status: 'refused', rowsDeleted: 0, chunks: 0 });
      expect(r.message).toMatch(new RegExp(`^${S}\\.visits\\.d is VARCHAR\\(10\\): text compares with the cutoff as text`));
      expect(r.message).toContain(`ALTER TABLE \`${S}\`.\`visits\` ADD COLUMN \`d_dt\` DATETIME NULL`);
      expect(r.message).toContain("STR_TO_DATE(`d`, '%d/%m/%Y')");
      expect(r.message).toContain('ADD INDEX `ix_d_dt` (`d_dt`)');
    }
    expect(await count(`SELECT COUNT(*) n FROM ${S}.visits`)).toBe(values.length);
  });

  it('refuses other non-date types (DECIMAL), and a dateFormat on a DATETIME column', async () => {
    await tableWith('dec', 'DECIMAL(14,3)', [1, 2]);
    expect(await run(dateRule('dec'), { now: NOW })).toMatchObject({
      status: 'refused',
      message: expect.stringMatching(/dec\.d is DECIMAL\(14,3\): dateColumn must be DATE, DATETIME or TIMESTAMP, or an integer with dateFormat/),
    });
    await tableWith('dt_fmt', 'DATETIME', [new Date(CUTOFF.getTime() - DAY)]);
    const r = await run(dateRule('dt_fmt', { dateFormat: 'unix-seconds' }), { dryRun: true, now: NOW });
    expect(r).toMatchObject({ status: 'refused', message: `${S}.dt_fmt.d is DATETIME, not an integer: dateFormat "unix-seconds" applies to integer columns only; remove dateFormat from the rule` });
    expect(await count(`SELECT COUNT(*) n FROM ${S}.dt_fmt`)).toBe(1);
  });
});

describe('integer date columns', () => {
  const cases = [
    { format: 'unix-seconds' as const, type: 'INT UNSIGNED', shown: 'INT(10) UNSIGNED', base: Math.floor(CUTOFF.getTime() / 1000), older: (v: number) => v * 1000 < CUTOFF.getTime() },
    { format: 'unix-millis' as const, type: 'BIGINT', shown: 'BIGINT(20)', base: CUTOFF.getTime(), older: (v: number) => v < CUTOFF.getTime() },
  ];
  for (const c of cases) {
    it(`${c.type} ${c.format}: deletes exactly the rows older than the cutoff, dry run and run agreeing; refused without dateFormat`, async () => {
      const table = `int_${c.format.replace('-', '_')}`;
      const values = OFFSETS.map((o) => c.base + o);
      const expected = values.filter(c.older).length;
      expect(expected).toBeGreaterThan(0);
      expect(expected).toBeLessThan(values.length);
      await tableWith(table, c.type, values);

      const refused = await run(dateRule(table), { now: NOW });
      expect(refused).toMatchObject({
        status: 'refused',
        message: `${S}.${table}.d is ${c.shown}: an integer date column needs dateFormat to say how it stores time; set dateFormat to "unix-seconds", "unix-millis" or "yyyymmdd"`,
      });
      expect(await count(`SELECT COUNT(*) n FROM ${S}.${table}`)).toBe(values.length);

      const dry = await run(dateRule(table, { dateFormat: c.format }), { dryRun: true, now: NOW });
      const bound = c.format === 'unix-seconds' ? Math.ceil(CUTOFF.getTime() / 1000) : CUTOFF.getTime();
      expect(dry).toMatchObject({ status: 'dry-run', wouldRemove: expected, cutoff: CUTOFF.toISOString(), cutoffValue: bound });
      const res = await run(dateRule(table, { dateFormat: c.format }), { now: NOW });
      expect(res).toMatchObject({ status: 'completed', rowsDeleted: expected, rowsRemaining: 0, cutoffValue: bound });
      const [left] = await admin.query<mysql.RowDataPacket[]>(`SELECT d FROM ${S}.${table} ORDER BY d`);
      expect(left.map((r) => Number(r['d']))).toEqual(values.filter((v) => !c.older(v)));
    });
  }

  it('INT yyyymmdd: deletes the days before the cutoff day and keeps the cutoff day; refused in a column too small for it', async () => {
    const days = [-400, -31, -30, -29, 0].map((d) => yyyymmdd(new Date(NOW.getTime() + d * DAY)));
    await tableWith('int_days', 'INT', days);
    const res = await run(dateRule('int_days', { dateFormat: 'yyyymmdd' }), { now: NOW });
    expect(res).toMatchObject({ status: 'completed', rowsDeleted: 2, cutoffValue: yyyymmdd(CUTOFF) });
    const [left] = await admin.query<mysql.RowDataPacket[]>(`SELECT d FROM ${S}.int_days ORDER BY d`);
    expect(left.map((r) => r['d'])).toEqual(days.slice(2)); // the cutoff day (−30) is kept

    await tableWith('small', 'MEDIUMINT', [1]);
    expect(await run(dateRule('small', { dateFormat: 'yyyymmdd' }), { now: NOW })).toMatchObject({
      status: 'refused',
      message: expect.stringMatching(/small\.d is MEDIUMINT\(\d+\): it cannot hold yyyymmdd values \(the cutoff is \d{8}, the type's largest value 8388607\)/),
    });
    await tableWith('int_ms', 'INT', [1]);
    expect((await run(dateRule('int_ms', { dateFormat: 'unix-millis' }), { now: NOW })).message).toMatch(/int_ms\.d is INT\(11\): it cannot hold unix-millis values/);
  });

  it('the cutoff is bound as a number: every chunk statement ranges over the date index (EXPLAIN)', async () => {
    await tableWith('explained', 'BIGINT', OFFSETS.map((o) => CUTOFF.getTime() + o));
    // Enough rows that a full scan would not be chosen by accident; every statement is forced onto ix_d anyway.
    await admin.query(`INSERT INTO ${S}.explained (id, d) SELECT 100 + seq, ? + seq * 1000 FROM seq_1_to_2000`, [CUTOFF.getTime()]);
    await admin.query(`INSERT INTO ${S}.explained (id, d) SELECT 5000 + seq, ? - seq * 1000 FROM seq_1_to_50`, [CUTOFF.getTime() - 10_000]);
    const seen: StatementEvent[] = [];
    const db = await session();
    try {
      const spy = interceptStatements(db, { before: (e) => void seen.push(e) });
      const res = await run(dateRule('explained', { dateFormat: 'unix-millis', walk: 'date-index' }), { db: spy, now: NOW, reader: null, second: null });
      expect(res).toMatchObject({ status: 'completed', rowsDeleted: 54, walk: 'date-index', index: 'ix_d' });
    } finally {
      await db.close();
    }
    const dateStatements = seen.filter((e) => (e.kind === 'boundary' || e.kind === 'delete') && e.sql.includes('`d` < ?'));
    expect(dateStatements.length).toBeGreaterThanOrEqual(2);
    for (const e of dateStatements) {
      expect(e.params).toContain(CUTOFF.getTime());
      const [plan] = await admin.query<mysql.RowDataPacket[]>(`EXPLAIN ${e.sql}`, [...e.params]);
      expect(plan.map((p) => [p['key'], p['type']]), e.sql).toEqual([['ix_d', 'range']]);
    }
  });
});

describe('DATE and TIMESTAMP columns', () => {
  it('DATE: the cutoff is its UTC day and a row dated the cutoff day is kept (retention of at least N days)', async () => {
    const days = [-31, -30, -29].map((d) => utcDay(new Date(NOW.getTime() + d * DAY)));
    await tableWith('dated', 'DATE', days);
    const dry = await run(dateRule('dated'), { dryRun: true, now: NOW });
    expect(dry).toMatchObject({ wouldRemove: 1, cutoffValue: utcDay(CUTOFF) });
    const res = await run(dateRule('dated'), { now: NOW });
    expect(res).toMatchObject({ status: 'completed', rowsDeleted: 1, cutoffValue: utcDay(CUTOFF) });
    const [left] = await admin.query<mysql.RowDataPacket[]>(`SELECT CAST(d AS CHAR) AS d FROM ${S}.dated ORDER BY d`);
    expect(left.map((r) => r['d'])).toEqual(days.slice(1));
  });

  it('TIMESTAMP: compared as UTC instants whatever zone wrote them; a session in another zone is refused', async () => {
    const c = await adminConnection();
    try {
      // Written from a +05:00 session: the server stores instants, the engine's +00:00 session must compare instants.
      await c.query(`SET time_zone = '+05:00'`);
      await c.query(`DROP TABLE IF EXISTS ${S}.stamped`);
      await c.query(`CREATE TABLE ${S}.stamped (id INT PRIMARY KEY, d TIMESTAMP(3) NOT NULL, KEY ix_d (d)) ENGINE=InnoDB`);
      const instants = [-3_600_000, -1, 0, 1, 3_600_000].map((o) => CUTOFF.getTime() + o);
      // A local +05:00 wall-clock text for each instant.
      const local = (ms: number) => new Date(ms + 5 * 3_600_000).toISOString().replace('T', ' ').replace('Z', '');
      await c.query(`INSERT INTO ${S}.stamped VALUES ${instants.map(() => '(?, ?)').join(', ')}`, instants.flatMap((ms, i) => [i + 1, local(ms)]));
    } finally {
      await c.end();
    }
    const db = await session();
    try {
      await db.exec(`SET time_zone = '+05:00'`);
      const refused = await run(dateRule('stamped'), { db, now: NOW, reader: null, second: null });
      expect(refused).toMatchObject({ status: 'refused', message: expect.stringMatching(/stamped\.d is TIMESTAMP and this session's time_zone is \+05:00/) });
    } finally {
      await db.close();
    }
    const res = await run(dateRule('stamped'), { now: NOW });
    expect(res).toMatchObject({ status: 'completed', rowsDeleted: 2 });
    expect(res.cutoffValue).toBeUndefined();
    const [left] = await admin.query<mysql.RowDataPacket[]>(`SELECT id FROM ${S}.stamped ORDER BY id`);
    expect(left.map((r) => r['id'])).toEqual([3, 4, 5]);
  });

});

describe('preflight and recommendations', () => {
  const rules = [
    { table: 'visits', dateColumn: 'd', retentionDays: 30, action: 'delete' as const },
    { table: 'epoch_raw', dateColumn: 'd', retentionDays: 30, action: 'delete' as const },
    { table: 'epoch', dateColumn: 'd', dateFormat: 'unix-seconds' as const, retentionDays: 30, action: 'delete' as const },
  ];
  const config = (r: readonly Record<string, unknown>[]) => testConfig([S], { targets: [testTarget([S], { cleanupRules: r })] }, `${S}_log`);

  beforeAll(async () => {
    await tableWith('visits', 'VARCHAR(10)', ['01/01/2001']);
    // Rows 100 days old in unix seconds: a purge falling far behind, visible only once the format is understood.
    await tableWith('epoch', 'INT UNSIGNED', [Math.floor(Date.now() / 1000) - 100 * 86_400, Math.floor(Date.now() / 1000)]);
    // The same column without its dateFormat (one rule per table: configuration refuses two on one table).
    await tableWith('epoch_raw', 'INT UNSIGNED', [Math.floor(Date.now() / 1000)]);
  });

  it('the CLI summary shows the cutoff in the column unit next to the UTC cutoff', async () => {
    const out = await runTask('cleanup-data', { dryRun: true }, { config: config([rules[2]!]), credentials: new UrlCredentialSource(serverUrl()), metrics: { publish: () => undefined }, log: silentLog, deadline: Deadline.unlimited() });
    const r = (out.result as RetentionResult).rules[0]!;
    expect(r).toMatchObject({ status: 'dry-run', wouldRemove: 1, cutoffValue: Math.ceil(new Date(r.cutoff).getTime() / 1000) });
    expect(renderTaskSummary(out)).toContain(`${r.cutoff.replace('T', ' ').slice(0, 19)} (< ${r.cutoffValue})`);
  });

  it('preflight reports the refused date columns in the words of the engine', async () => {
    const out = await runTask('preflight', {}, { config: config(rules), credentials: new UrlCredentialSource(serverUrl()), metrics: { publish: () => undefined }, log: silentLog, deadline: Deadline.unlimited() });
    const purge = (out.result as PreflightResult).capabilities.find((c) => c.capability === 'purge')!;
    expect(purge.ok).toBe(false);
    expect(purge.missing).toHaveLength(2);
    expect(purge.missing[0]).toMatch(new RegExp(`^${S}\\.visits\\.d is VARCHAR\\(10\\): text compares with the cutoff as text.*STR_TO_DATE`));
    expect(purge.missing[1]).toBe(`${S}.epoch_raw.d is INT(10) UNSIGNED: an integer date column needs dateFormat to say how it stores time; set dateFormat to "unix-seconds", "unix-millis" or "yyyymmdd"`);
  });

  it('recommendations: an unusable date column is a high item with its fix, and an integer format is read for the age of the oldest row', async () => {
    const target = config(rules).targets[0]!;
    const now = new Date();
    const db = await session();
    const r = await generateRecommendations(db, {
      schemas: [S],
      target: 'test',
      settings: recommendationSettingsSchema.parse({}),
      thresholds: { fragmentationPercent: 30, optimizeMinSizeMb: 5, analyzeAfterDays: 7, analyzeModifiedPercent: 5, analyzeBehindQuerySeconds: 5 },
      retentionRules: target.cleanupRules.map((c) => cleanupRule(target, c)),
      historySchema: `${S}_hist`,
      growthWindowDays: 30,
      minHistoryHours: 12,
      now,
    }).finally(() => db.close());
    const unusable = r.items.filter((i) => i.code === 'RETENTION_DATE_UNUSABLE');
    expect(unusable.map((i) => [i.object, i.priority])).toEqual([
      [`${S}.visits`, 'high'],
      [`${S}.epoch_raw`, 'high'],
    ]);
    expect(unusable[0]!.fix).toMatch(/^convert it and point the rule at the new column: ALTER TABLE/);
    expect(unusable[1]!.fix).toBe('set dateFormat to "unix-seconds", "unix-millis" or "yyyymmdd"');
    const behind = r.items.filter((i) => i.code === 'PURGE_FALLING_BEHIND');
    expect(behind.map((i) => i.object)).toEqual([`${S}.epoch`]);
    expect(behind[0]!.evidence['oldestAgeDays']).toBe(100);
    expect(r.checks.find((c) => c.code === 'PURGE_FALLING_BEHIND')!.note).toContain(`${S}.visits: d cannot be compared with a cutoff (RETENTION_DATE_UNUSABLE)`);
  });
});
