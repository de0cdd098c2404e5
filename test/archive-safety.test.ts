// Archive exactness on real MariaDB: narrower archive columns refused (run and dry run) with the ALTER that fixes them,
// strict sql_mode on every walk session, the chunk checksum rolling back a tampered copy, zero dates, a missing archive schema.
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupRuleSchema, archiveOrdersSchema } from '../lib/config/schema';
import type { RetentionRule, RuleResult } from '../lib/retention/engine';
import { rowChecksumSelect } from '../lib/retention/row-checksum';
import { inspectTable } from '../lib/retention/inspect';
import { archiveOrdersRule, cleanupRule } from '../lib/retention/rules';
import { STRICT_SQL_MODE } from '../lib/retention/strict-mode';
import { UrlCredentialSource } from '../lib/db/credentials';
import type { PreflightResult } from '../lib/maintenance/preflight';
import { Deadline } from '../lib/runtime/deadline';
import { silentLog } from '../lib/runtime/log';
import { runTask } from '../lib/tasks/registry';
import { adminConnection, serverUrl, testConfig, testTarget } from './support/db';
import { rule, run, session } from './support/retention';

const S = 'arch_safe';
const MISSING = 'arch_safe_missing';
let admin: mysql.Connection;

async function one(sql: string, params: unknown[] = []): Promise<unknown> {
  const [rows] = await admin.query<mysql.RowDataPacket[]>(sql, params);
  return rows[0] ? Object.values(rows[0])[0] : undefined;
}
const count = async (table: string) => Number(await one(`SELECT COUNT(*) FROM ${S}.${table}`));

/** Every row of `table` as text, NULL-safe (QUOTE), in key order: what "values unchanged" compares. */
async function rowsOf(table: string, columns: readonly string[]): Promise<string[]> {
  const [rows] = await admin.query<mysql.RowDataPacket[]>(`SELECT CONCAT_WS(',', ${columns.map((c) => `QUOTE(${c})`).join(', ')}) AS r FROM ${S}.${table} ORDER BY id`);
  return rows.map((r) => String(r['r']));
}

const MONEY_COLUMNS = ['id', 'created_at', 'amount', 'seen_at', 'note', 'qty'];

/**
 * `money`: 300 rows, all older than the rules' 30 days: 4-decimal amounts, DATETIME(6) with microseconds, utf8mb4
 * notes longer than 10 characters (some NULL, some '' or 'NULL'), negative quantities. Its archive: LIKE it, plus archived_at.
 */
async function moneyTables(archiveAlter?: string): Promise<void> {
  await admin.query(`DROP TABLE IF EXISTS ${S}.money, ${S}.money_archive`);
  await admin.query(`CREATE TABLE ${S}.money (id INT PRIMARY KEY, created_at DATETIME NOT NULL, amount DECIMAL(12,4) NOT NULL, seen_at DATETIME(6) NULL,
      note VARCHAR(50) NULL, qty INT NOT NULL, KEY ix_created (created_at)) ENGINE=InnoDB`);
  await admin.query(`INSERT INTO ${S}.money SELECT seq, UTC_TIMESTAMP() - INTERVAL 40 DAY - INTERVAL seq MINUTE, seq + 0.1234,
      '2026-01-02 03:04:05.123456' + INTERVAL seq MICROSECOND, ELT(1 + seq % 4, NULL, '', 'NULL', CONCAT('Grüße 😀 Nummer ', seq)), CAST(seq AS SIGNED) - 150 FROM seq_1_to_300`);
  await admin.query(`CREATE TABLE ${S}.money_archive LIKE ${S}.money`);
  await admin.query(`ALTER TABLE ${S}.money_archive ADD COLUMN archived_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)`);
  if (archiveAlter) await admin.query(`ALTER TABLE ${S}.money_archive ${archiveAlter}`);
}

const money = (over: Partial<RetentionRule> = {}) => rule(S, 'money', { action: 'archive', ...over });
const FIXED = { initialChunkRows: 100, minChunkRows: 100, maxChunkRows: 100 };

/** The fix printed in a refusal: `(fix: ALTER TABLE …)`. */
function fixesIn(message: string | undefined): string[] {
  return [...String(message).matchAll(/\(fix: (ALTER TABLE .*?)\)(?=; |$)/g)].map((m) => m[1]!);
}

/** Dry run and run refuse alike, and nothing moved. */
async function refusedBoth(r: RetentionRule, message: RegExp, opts: Parameters<typeof run>[1] = {}): Promise<RuleResult> {
  const before = await rowsOf('money', MONEY_COLUMNS);
  const dry = await run(r, { ...opts, dryRun: true });
  const real = await run(r, opts);
  expect(dry).toMatchObject({ status: 'refused', message: expect.stringMatching(message) });
  expect(real).toMatchObject({ status: 'refused', message: dry.message, rowsArchived: 0 });
  expect(await rowsOf('money', MONEY_COLUMNS)).toEqual(before);
  expect(await count('money_archive')).toBe(0);
  return real;
}

beforeAll(async () => {
  admin = await adminConnection();
  await admin.query(`DROP DATABASE IF EXISTS ${S}`);
  await admin.query(`DROP DATABASE IF EXISTS ${S}_log`);
  await admin.query(`DROP DATABASE IF EXISTS ${MISSING}`);
  // Not the server's default (latin1 here): a created archive schema must take the source schema's.
  await admin.query(`CREATE DATABASE ${S} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await admin.query(`USE ${S}`);
});
afterAll(async () => {
  await admin.end();
});

describe('an existing archive table that cannot hold every value exactly is refused, in the run and the dry run', () => {
  const t = `\`${S}\`.\`money_archive\``;
  it.each([
    ['DECIMAL(12,4) → DECIMAL(12,2)', 'MODIFY amount DECIMAL(12,2) NOT NULL', /column amount: decimal\(12,2\) in the archive, decimal\(12,4\) in the source: values would be rounded/, `ALTER TABLE ${t} MODIFY \`amount\` decimal(12,4) NOT NULL`],
    ['DATETIME(6) → DATETIME', 'MODIFY seen_at DATETIME NULL', /column seen_at: datetime in the archive, datetime\(6\) in the source: fractional seconds would be cut from 6 to 0/, `ALTER TABLE ${t} MODIFY \`seen_at\` datetime(6) NULL`],
    ['utf8mb4 → latin1', 'MODIFY note VARCHAR(50) CHARACTER SET latin1 NULL', /column note: .*character set latin1 in the archive, utf8mb4 in the source/, `ALTER TABLE ${t} MODIFY \`note\` varchar(50) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NULL`],
    ['signed → UNSIGNED', 'MODIFY qty INT UNSIGNED NOT NULL', /column qty: int\(10\) unsigned in the archive, int\(11\) in the source: negative values cannot be stored UNSIGNED/, `ALTER TABLE ${t} MODIFY \`qty\` int(11) NOT NULL`],
    ['nullable → NOT NULL', "MODIFY note VARCHAR(50) NOT NULL DEFAULT ''", /column note: NOT NULL in the archive, nullable in the source: NULLs cannot be stored/, `ALTER TABLE ${t} MODIFY \`note\` varchar(50) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NULL`],
  ] as const)('%s: refused with the column and its ALTER; the ALTER fixes it and the values then arrive exactly', async (_name, alter, reason, fix) => {
    await moneyTables(alter);
    const refused = await refusedBoth(money(), reason);
    expect(refused.message).toMatch(/^archive table arch_safe\.money_archive cannot hold every value of arch_safe\.money exactly — /);
    expect(fixesIn(refused.message)).toEqual([fix]);
    const before = await rowsOf('money', MONEY_COLUMNS);
    await admin.query(fix);
    const res = await run(money(), { settings: FIXED });
    expect(res).toMatchObject({ status: 'completed', rowsArchived: 300 });
    expect(await rowsOf('money_archive', MONEY_COLUMNS)).toEqual(before);
  });

  it('VARCHAR(50) → VARCHAR(10) on a session with an empty sql_mode (old servers): refused, nothing cut; the session keeps its mode', async () => {
    await moneyTables('MODIFY note VARCHAR(10) NULL');
    const db = await session();
    try {
      await db.exec("SET SESSION sql_mode = ''");
      await refusedBoth(money(), /column note: varchar\(10\) in the archive, varchar\(50\) in the source: the archive holds 10 characters \(40 bytes\), the source 50 characters \(200 bytes\): longer values would be cut/, { db });
      expect((await db.query<{ m: string }>('SELECT @@SESSION.sql_mode AS m'))[0]!.m).toBe('');
    } finally {
      await db.close();
    }
  });

  it('several columns at once: every one named, each with its ALTER', async () => {
    await moneyTables('MODIFY amount DECIMAL(12,2) NOT NULL, MODIFY seen_at DATETIME NULL, MODIFY note VARCHAR(10) NULL');
    const refused = await refusedBoth(money(), /column amount: .*; column seen_at: .*; column note: /);
    expect(fixesIn(refused.message)).toHaveLength(3);
  });

  it('ENUM members, generated columns, archived_at precision and a non-transactional engine', async () => {
    await admin.query(`DROP TABLE IF EXISTS ${S}.kinds, ${S}.kinds_archive`);
    await admin.query(`CREATE TABLE ${S}.kinds (id INT PRIMARY KEY, created_at DATETIME NOT NULL, kind ENUM('a','b','c') NOT NULL, doubled INT AS (id * 2) VIRTUAL,
        KEY (created_at)) ENGINE=InnoDB`);
    await admin.query(`INSERT INTO ${S}.kinds (id, created_at, kind) SELECT seq, UTC_TIMESTAMP() - INTERVAL 40 DAY, ELT(1 + seq % 3, 'a', 'b', 'c') FROM seq_1_to_50`);
    const kinds = rule(S, 'kinds', { action: 'archive' });
    const archive = async (ddl: string) => {
      await admin.query(`DROP TABLE IF EXISTS ${S}.kinds_archive`);
      await admin.query(`CREATE TABLE ${S}.kinds_archive (${ddl}) ENGINE=InnoDB`);
    };
    const refused = async (reason: RegExp) => {
      for (const dryRun of [true, false]) expect(await run(kinds, { dryRun }), String(reason)).toMatchObject({ status: 'refused', message: expect.stringMatching(reason) });
      expect(await count('kinds')).toBe(50);
    };
    await archive("id INT PRIMARY KEY, created_at DATETIME NOT NULL, kind ENUM('a','c','b') NOT NULL, archived_at DATETIME(6) NOT NULL, KEY (created_at)");
    await refused(/column kind: enum\('a','c','b'\) in the archive, enum\('a','b','c'\) in the source: ENUM members differ/);
    await archive('id INT PRIMARY KEY, created_at DATETIME AS (NOW()) VIRTUAL, kind VARCHAR(1), archived_at DATETIME(6) NOT NULL');
    await refused(/column created_at: generated in the archive, an ordinary column in the source/);
    await archive("id INT PRIMARY KEY, created_at DATETIME NOT NULL, kind ENUM('a','b','c') NOT NULL, archived_at DATETIME NOT NULL, KEY (created_at)");
    await refused(/column archived_at: datetime: .*fix: ALTER TABLE `arch_safe`\.`kinds_archive` MODIFY `archived_at` DATETIME\(6\) NOT NULL DEFAULT CURRENT_TIMESTAMP\(6\)/);
    await archive("id INT PRIMARY KEY, created_at DATETIME NOT NULL, kind ENUM('a','b','c') NOT NULL, archived_at DATETIME(6) NOT NULL, audit_user VARCHAR(20) NOT NULL");
    await refused(/column audit_user: NOT NULL without a default in the archive and not in the source: every copy would fail/);
    await archive("id INT PRIMARY KEY, created_at DATETIME NOT NULL, kind ENUM('a','b','c') NOT NULL, archived_at DATETIME(6) NOT NULL");
    await admin.query(`ALTER TABLE ${S}.kinds_archive ENGINE=MyISAM`);
    await refused(/the table's engine: MyISAM is not transactional: .*fix: ALTER TABLE `arch_safe`\.`kinds_archive` ENGINE=InnoDB/);

    // A generated source column whose archive column is an ordinary one: its value is copied, not lost.
    await archive("id INT PRIMARY KEY, created_at DATETIME NOT NULL, kind ENUM('a','b','c') NOT NULL, doubled INT NULL, archived_at DATETIME(6) NOT NULL, KEY (created_at)");
    expect(await run(kinds)).toMatchObject({ status: 'completed', rowsArchived: 50 });
    expect(Number(await one(`SELECT COUNT(*) FROM ${S}.kinds_archive WHERE doubled = id * 2`))).toBe(50);
  });

  it('a widened archive is accepted where every value reads back identically: INT → BIGINT, DECIMAL(12,4) → (16,4), VARCHAR(50) → (200), TEXT', async () => {
    await moneyTables('MODIFY id BIGINT NOT NULL, MODIFY amount DECIMAL(16,4) NOT NULL, MODIFY note VARCHAR(200) NULL, MODIFY qty BIGINT NOT NULL');
    const before = await rowsOf('money', MONEY_COLUMNS);
    const dry = await run(money(), { dryRun: true });
    expect(dry).toMatchObject({ status: 'dry-run', message: 'archive table exists', wouldRemove: 300 });
    expect(await run(money(), { settings: FIXED })).toMatchObject({ status: 'completed', rowsArchived: 300 });
    expect(await rowsOf('money_archive', MONEY_COLUMNS)).toEqual(before);
    // Wider fractions (scale or fractional seconds) change how values read back: refused, not accepted.
    await moneyTables('MODIFY amount DECIMAL(12,6) NOT NULL');
    await refusedBoth(money(), /column amount: decimal\(12,6\) in the archive, decimal\(12,4\) in the source: values would read back with 6 decimal places instead of 4/);
    await moneyTables('MODIFY note TEXT NULL');
    expect(await run(money())).toMatchObject({ status: 'completed', rowsArchived: 300 });
  });
});

describe('strict sql_mode on every session of the walk', () => {
  it('every session of the walk runs chunks in the strict sql_mode, even where it had an empty one; the walk\'s own session gets its mode back', async () => {
    await moneyTables();
    const db = await session();
    const reader = await session();
    const second = await session();
    const mode = async (s: typeof db) => (await s.query<{ m: string }>('SELECT @@SESSION.sql_mode AS m'))[0]!.m.split(',').sort().join(',');
    const strict = STRICT_SQL_MODE.split(',').sort().join(',');
    try {
      for (const s of [db, reader, second]) await s.exec("SET SESSION sql_mode = ''");
      const seen: string[] = [];
      const res = await run(money(), {
        db,
        reader,
        second,
        settings: FIXED,
        faults: { betweenInsertAndDelete: async () => void seen.push(await mode(db), await mode(second), await mode(reader)) },
      });
      expect(res).toMatchObject({ status: 'completed', rowsArchived: 300 });
      expect(seen.length).toBeGreaterThan(0);
      expect(new Set(seen)).toEqual(new Set([strict]));
      // The walk's own session serves the task's bookkeeping afterwards; the reader and the second walker are the walk's alone.
      expect(await mode(db)).toBe('');
      expect(await mode(reader)).toBe(strict);
      expect(await mode(second)).toBe(strict);
    } finally {
      await db.close();
      await reader.close();
      await second.close();
    }
  });

  it('rows holding zero dates: the dry run refuses naming the column; the run fails at the chunk holding one, naming it, and loses nothing', async () => {
    await admin.query(`DROP TABLE IF EXISTS ${S}.zd, ${S}.zd_archive`);
    await admin.query("SET SESSION sql_mode = ''");
    await admin.query(`CREATE TABLE ${S}.zd (id INT PRIMARY KEY, created_at DATETIME NOT NULL, closed_on DATE NULL, KEY (created_at)) ENGINE=InnoDB`);
    await admin.query(`INSERT INTO ${S}.zd SELECT seq, UTC_TIMESTAMP() - INTERVAL 40 DAY + INTERVAL seq SECOND,
        CASE seq WHEN 150 THEN '0000-00-00' WHEN 170 THEN '2020-00-10' ELSE '2020-01-01' + INTERVAL seq DAY END FROM seq_1_to_300`);
    await admin.query('SET SESSION sql_mode = DEFAULT');
    const zd = rule(S, 'zd', { action: 'archive' });
    const dry = await run(zd, { dryRun: true });
    expect(dry).toMatchObject({ status: 'refused' });
    expect(dry.message).toMatch(/^arch_safe\.zd: rows to archive hold zero dates \('0000-00-00' or a zero month or day\) in column closed_on \(2 row\(s\)\), which the strict sql_mode/);
    // On a session with an empty sql_mode too: the walk sets its own.
    const db = await session();
    await db.exec("SET SESSION sql_mode = ''");
    const res = await run(zd, { db, settings: { ...FIXED, idleWalkers: 1 } });
    await db.close();
    expect(res).toMatchObject({ status: 'failed', rowsArchived: 100, chunks: 1 });
    expect(res.message).toMatch(/^chunk 2 failed: Incorrect date value: '0000-00-00' for column `arch_safe`\.`zd_archive`\.`closed_on` at row \d+: rows of arch_safe\.zd hold a zero date/);
    expect(await count('zd')).toBe(200);
    expect(await count('zd_archive')).toBe(100);
    expect(Number(await one(`SELECT COUNT(*) FROM ${S}.zd a JOIN ${S}.zd_archive b USING (id)`))).toBe(0);
  });
});

describe('the chunk checksum', () => {
  it('a copy changed on its way into the archive (a trigger) rolls the chunk back: nothing deleted, not retried', async () => {
    await moneyTables();
    await admin.query(`CREATE TRIGGER ${S}.money_archive_nudge BEFORE INSERT ON ${S}.money_archive FOR EACH ROW SET NEW.amount = NEW.amount + 0.0001`);
    const before = await rowsOf('money', MONEY_COLUMNS);
    const res = await run(money(), { settings: FIXED });
    expect(res).toMatchObject({ status: 'failed', rowsArchived: 0, chunks: 0, retries: 0 });
    expect(res.message).toMatch(/^chunk [12] failed: the archive does not hold the chunk's rows as the source did \(source 100 rows, crc32 xor \d+ sum \d+; archive 100 rows, .*\): a trigger or a conversion .* Chunk rolled back, nothing deleted\. Not retried\.$/);
    expect(await rowsOf('money', MONEY_COLUMNS)).toEqual(before);
    expect(await count('money_archive')).toBe(0);
    // Without the trigger the same rule archives everything, exactly.
    await admin.query(`DROP TRIGGER ${S}.money_archive_nudge`);
    expect(await run(money(), { settings: FIXED })).toMatchObject({ status: 'completed', rowsArchived: 300 });
    expect(await rowsOf('money_archive', MONEY_COLUMNS)).toEqual(before);
  });

  it('a row whose key a trigger moves out of the chunk is missed by the archive side: rolled back too', async () => {
    await moneyTables('MODIFY id BIGINT NOT NULL');
    await admin.query(`CREATE TRIGGER ${S}.money_archive_move BEFORE INSERT ON ${S}.money_archive FOR EACH ROW SET NEW.id = NEW.id + 1000000`);
    const res = await run(money(), { settings: FIXED });
    expect(res).toMatchObject({ status: 'failed', rowsArchived: 0 });
    expect(res.message).toMatch(/archive 0 rows/);
    expect(await count('money')).toBe(300);
    expect(await count('money_archive')).toBe(0);
  });

  it('tells NULL, empty and the text NULL apart, and catches the same change made to an even number of rows (where BIT_XOR alone cancels out)', async () => {
    await admin.query(`DROP TABLE IF EXISTS ${S}.ck_a, ${S}.ck_b`);
    for (const t of ['ck_a', 'ck_b']) await admin.query(`CREATE TABLE ${S}.${t} (id INT PRIMARY KEY, flag CHAR(1) NOT NULL, note VARCHAR(10) NULL)`);
    const db = await session();
    const shape = (await inspectTable(db, S, 'ck_a'))!;
    await db.close();
    const sumOf = async (t: string) => {
      const [rows] = await admin.query<mysql.RowDataPacket[]>(`SELECT ${rowChecksumSelect(shape.columns)} FROM ${S}.${t}`);
      return { x: String(rows[0]!['x']), s: String(rows[0]!['s']) };
    };
    const differ = async (a: string, b: string) => {
      await admin.query(`DELETE FROM ${S}.ck_a`);
      await admin.query(`DELETE FROM ${S}.ck_b`);
      await admin.query(`INSERT INTO ${S}.ck_a VALUES ${a}`);
      await admin.query(`INSERT INTO ${S}.ck_b VALUES ${b}`);
      return { a: await sumOf('ck_a'), b: await sumOf('ck_b') };
    };
    for (const [a, b] of [
      ["(1, '0', NULL)", "(1, '0', '')"],
      ["(1, '0', NULL)", "(1, '0', 'NULL')"],
      ["(1, '0', '')", "(1, '0', 'NULL')"],
      ["(1, 'a', 'a')", "(1, 'A', 'a')"],
    ]) {
      const r = await differ(a!, b!);
      expect(r.a, `${a} vs ${b}`).not.toEqual(r.b);
    }
    // Two rows of the same layout, the same byte changed in both: CRC32 is linear, so their XOR is unchanged; the SUM is not.
    const r = await differ("(10, '0', 'x'), (12, '0', 'y')", "(10, '1', 'x'), (12, '1', 'y')");
    expect(r.a.x).toBe(r.b.x);
    expect(r.a.s).not.toBe(r.b.s);
  });
});

describe('the archive schema', () => {
  it('a missing archiveSchema refuses the rule (dry run and run) naming the CREATE DATABASE that fixes it', async () => {
    await moneyTables();
    await admin.query(`DROP TABLE ${S}.money_archive`);
    const r = money({ archiveSchema: MISSING });
    const message =
      'archive schema arch_safe_missing does not exist: create it (CREATE DATABASE `arch_safe_missing` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci) ' +
      'or set createArchiveSchema: true in the rule, which creates it with the character set and collation of arch_safe';
    expect(await run(r, { dryRun: true })).toMatchObject({ status: 'refused', message });
    expect(await run(r)).toMatchObject({ status: 'refused', message, rowsArchived: 0 });
    expect(await one('SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [MISSING])).toBe(0);
    expect(await count('money')).toBe(300);
  });

  it('createArchiveSchema: true creates it with the source schema’s character set and collation, not the server’s', async () => {
    await moneyTables();
    const before = await rowsOf('money', MONEY_COLUMNS);
    const r = money({ archiveSchema: MISSING, createArchiveSchema: true });
    expect(await run(r, { dryRun: true })).toMatchObject({ status: 'dry-run', message: 'archive schema and table would be created' });
    expect(await one('SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [MISSING])).toBe(0);
    expect(await run(r)).toMatchObject({ status: 'completed', rowsArchived: 300, archiveTableCreated: true });
    const [[schema]] = await admin.query<mysql.RowDataPacket[]>(
      'SELECT DEFAULT_CHARACTER_SET_NAME AS cs, DEFAULT_COLLATION_NAME AS co FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?',
      [MISSING],
    );
    expect(schema).toEqual({ cs: 'utf8mb4', co: 'utf8mb4_unicode_ci' });
    expect(await one('SELECT @@character_set_server')).not.toBe('utf8mb4');
    const [arch] = await admin.query<mysql.RowDataPacket[]>(`SELECT CONCAT_WS(',', ${MONEY_COLUMNS.map((c) => `QUOTE(${c})`).join(', ')}) AS r FROM ${MISSING}.money_archive ORDER BY id`);
    expect(arch.map((x) => String(x['r']))).toEqual(before);
  });

  it('createArchiveSchema is carried from the configuration into the rule', () => {
    const target = { name: 't', secretArn: 'arn', schemas: [S], tls: 'auto', excludeTables: [] } as never;
    const c = cleanupRule(target, cleanupRuleSchema.parse({ table: 'money', dateColumn: 'created_at', retentionDays: 30, action: 'archive', archiveSchema: MISSING, createArchiveSchema: true }));
    expect(c).toMatchObject({ archiveSchema: MISSING, createArchiveSchema: true });
    expect(cleanupRule(target, cleanupRuleSchema.parse({ table: 'money', dateColumn: 'created_at', retentionDays: 30, action: 'archive' })).createArchiveSchema).toBeUndefined();
    expect(archiveOrdersRule(target, archiveOrdersSchema.parse({ createArchiveSchema: true }))).toMatchObject({ createArchiveSchema: true });
    expect(() => cleanupRuleSchema.parse({ table: 'money', dateColumn: 'created_at', retentionDays: 30, action: 'archive', createArchiveSchema: 'yes' })).toThrow();
  });
});

describe('preflight', () => {
  /** The archive capability's findings for one archive rule on `money`, as the preflight task reports them. */
  async function archiveFindings(over: Record<string, unknown> = {}): Promise<readonly string[]> {
    const cleanupRules = [{ table: 'money', dateColumn: 'created_at', retentionDays: 30, action: 'archive', ...over }];
    const config = testConfig([S], { targets: [testTarget([S], { cleanupRules })] }, `${S}_log`);
    const out = await runTask('preflight', {}, { config, credentials: new UrlCredentialSource(serverUrl()), metrics: { publish: () => undefined }, log: silentLog, deadline: Deadline.unlimited() });
    return (out.result as PreflightResult).capabilities.find((c) => c.capability === 'archive')!.missing;
  }

  it('reports an archive table that cannot hold every value, and a missing archive schema, in the words of the dry run', async () => {
    await moneyTables('MODIFY amount DECIMAL(12,2) NOT NULL');
    const narrow = await run(money(), { dryRun: true });
    expect(await archiveFindings()).toEqual([narrow.message]);
    await moneyTables();
    await admin.query(`DROP DATABASE IF EXISTS ${MISSING}`); // an earlier test creates it
    const missing = await run(money({ archiveSchema: MISSING }), { dryRun: true });
    expect(missing.status).toBe('refused');
    expect(await archiveFindings({ archiveSchema: MISSING })).toContain(missing.message);
    await moneyTables();
    expect(await archiveFindings()).toEqual([]);
  });
});
