// The recommendations engine against a real MariaDB: a schema built to trigger each check that can run here, and a clean one that triggers none.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type mysql from 'mysql2/promise';
import { cleanupRuleSchema, recommendationSettingsSchema } from '../lib/config/schema';
import { openSession, type DbSession } from '../lib/db/connection';
import { credentialsFromUrl } from '../lib/db/credentials';
import { CHECK_CODES, generateRecommendations, type RecommendOptions } from '../lib/recommend/generate';
import type { IndexColumn, IndexDef, TableIndexes } from '../lib/recommend/index-catalogue';
import { findRedundantIndexes } from '../lib/recommend/index-redundancy';
import type { Recommendation, RecommendationsResult } from '../lib/recommend/types';
import { cleanupRule } from '../lib/retention/rules';
import { historyDdl } from '../lib/stats/history';
import { daysUntil } from '../lib/stats/trend';
import { adminConnection, freshSchema, serverUrl, testConfig } from './support/db';

const SCHEMA = 'reco_t';
const CLEAN = 'reco_clean';
const HISTORY = 'reco_t_hist';
const TARGET = 'reco';
const MIB = 1024 * 1024;
const GIB = 1024 * MIB;
const DAY = 86_400_000;
const SESSION = { lockWaitTimeoutSeconds: 5, innodbLockWaitTimeoutSeconds: 5, connectTimeoutSeconds: 5 };
const LIMITED_USER = 'reco_limited';

let admin: mysql.Connection;
let db: DbSession;
// The server's clock: statistics ages and row ages are measured against it, never asserted in wall-clock terms.
const now = new Date();

const target = testConfig([SCHEMA, CLEAN]).targets[0]!;
const rule = (r: Record<string, unknown>) => cleanupRule(target, cleanupRuleSchema.parse({ action: 'delete', retentionDays: 30, ...r }));
const RULES = [
  rule({ table: 'events_unindexed', dateColumn: 'created_at' }),
  rule({ table: 'old_events', dateColumn: 'created_at' }),
  rule({ table: 'recent_events', dateColumn: 'created_at' }),
  rule({ table: 'orders', dateColumn: 'completed_at', action: 'archive', where: [{ column: 'status', op: 'IN', value: ['completed'] }] }),
  rule({ table: 'missing_table', dateColumn: 'created_at' }),
];

function options(over: Partial<RecommendOptions> = {}, settings: Record<string, unknown> = {}): RecommendOptions {
  return {
    schemas: [SCHEMA, CLEAN],
    target: TARGET,
    settings: recommendationSettingsSchema.parse({ largeTableGb: 0.01, connectionsWarningPercent: 1, ...settings }),
    thresholds: { fragmentationPercent: 30, optimizeMinSizeMb: 5, analyzeAfterDays: 7, analyzeModifiedPercent: 5, analyzeBehindQuerySeconds: 5 },
    retentionRules: RULES,
    historySchema: HISTORY,
    storageLimitBytes: 10 * GIB,
    growthWindowDays: 30,
    minHistoryHours: 12,
    now,
    ...over,
  };
}

function q(sql: string, params: unknown[] = []) {
  return admin.query(sql, params);
}

function of(r: RecommendationsResult, code: string): Recommendation[] {
  return r.items.filter((i) => i.code === code);
}

function one(r: RecommendationsResult, code: string, object: string): Recommendation {
  const found = r.items.filter((i) => i.code === code && i.object === object);
  expect(found.map((i) => `${i.code} ${i.object}`)).toEqual([`${code} ${object}`]);
  return found[0]!;
}

function status(r: RecommendationsResult, code: string) {
  return r.checks.find((c) => c.code === code);
}

async function schemaHistory(schema: string, at: Date, totalBytes: number): Promise<void> {
  await q(
    `INSERT INTO \`${HISTORY}\`.schema_size_history (target, schema_name, captured_at, run_id, table_count, rows_estimate, data_bytes, index_bytes, free_bytes, total_bytes)
     VALUES (?, ?, ?, ?, 1, 0, ?, 0, 0, ?)`,
    [TARGET, schema, at, randomUUID(), totalBytes, totalBytes],
  );
}

async function tableHistory(table: string, at: Date, totalBytes: number, rows: number): Promise<void> {
  await q(
    `INSERT INTO \`${HISTORY}\`.table_size_history (target, schema_name, table_name, captured_at, run_id, engine, rows_estimate, data_bytes, index_bytes, free_bytes, total_bytes)
     VALUES (?, ?, ?, ?, ?, 'InnoDB', ?, ?, 0, 0, ?)`,
    [TARGET, SCHEMA, table, at, randomUUID(), rows, totalBytes, totalBytes],
  );
}

beforeAll(async () => {
  admin = await adminConnection();
  await freshSchema(admin, SCHEMA);
  await freshSchema(admin, CLEAN);
  await q(`DROP DATABASE IF EXISTS \`${HISTORY}\``);
  await q(`USE \`${SCHEMA}\``);

  // ~24 MB, 90% deleted: fragmented, over the 5 MB floor and over the 0.01 GiB "large" size.
  await q('CREATE TABLE fragmented (id INT PRIMARY KEY, k INT NOT NULL, pad VARCHAR(200) NOT NULL, KEY ix_k (k)) ENGINE=InnoDB');
  for (let done = 0; done < 100_000; done += 50_000) {
    await q(`INSERT INTO fragmented SELECT seq, seq % 977, REPEAT('x', 200) FROM seq_1_to_100000 WHERE seq > ? AND seq <= ?`, [done, done + 50_000]);
  }
  await q('DELETE FROM fragmented WHERE id % 10 <> 0');

  // AUTO_INCREMENT counters: 2,000,000,000 of 2,147,483,647 (93.1%), 3,500,000,000 of 4,294,967,295 (81.5%).
  await q('CREATE TABLE ai_near (id INT AUTO_INCREMENT PRIMARY KEY) ENGINE=InnoDB AUTO_INCREMENT=2000000001');
  await q('CREATE TABLE ai_mid (id INT UNSIGNED AUTO_INCREMENT PRIMARY KEY) ENGINE=InnoDB AUTO_INCREMENT=3500000001');

  await q('CREATE TABLE no_pk (a INT, b VARCHAR(10)) ENGINE=InnoDB');
  await q('CREATE TABLE no_pk_uk (id INT NOT NULL, v INT, UNIQUE KEY uk_id (id)) ENGINE=InnoDB');
  await q('CREATE TABLE legacy_myisam (id INT PRIMARY KEY) ENGINE=MyISAM');
  await q('CREATE TABLE legacy_aria (id INT PRIMARY KEY) ENGINE=Aria');
  await q('CREATE VIEW v_legacy AS SELECT id FROM legacy_myisam');

  // Duplicates: ix_d2 = ix_d1, ix_e = uk_e (the unique one is kept). Redundant: ix_b is a prefix of ix_b_c,
  // ix_a_id is ix_a plus the primary key. ix_d_desc differs by direction, ix_c_prefix by prefix length: neither counts.
  await q(`CREATE TABLE idx (id INT PRIMARY KEY, a INT, b INT, c VARCHAR(40), d INT, e INT,
             KEY ix_a (a), KEY ix_a_id (a, id), KEY ix_b (b), KEY ix_b_c (b, c), KEY ix_d1 (d), KEY ix_d2 (d), KEY ix_d_desc (d DESC),
             UNIQUE KEY uk_e (e), KEY ix_e (e), KEY ix_c_prefix (c(10)), KEY ix_c (c)) ENGINE=InnoDB`);
  // Two identical FULLTEXT indexes: not comparable by columns, never reported.
  await q('CREATE TABLE docs (id INT PRIMARY KEY, body TEXT, FULLTEXT KEY ft1 (body), FULLTEXT KEY ft2 (body)) ENGINE=InnoDB');

  await q('CREATE TABLE stale (id INT PRIMARY KEY, v INT) ENGINE=InnoDB STATS_AUTO_RECALC=0');
  await q('INSERT INTO stale SELECT seq, seq FROM seq_1_to_50');
  await q('CREATE TABLE never_stats (id INT PRIMARY KEY) ENGINE=InnoDB STATS_AUTO_RECALC=0');
  await q('CREATE TABLE transient (id INT PRIMARY KEY) ENGINE=InnoDB STATS_PERSISTENT=0');

  await q('CREATE TABLE events_unindexed (id INT PRIMARY KEY, created_at DATETIME NOT NULL) ENGINE=InnoDB');
  for (const t of ['old_events', 'recent_events']) {
    await q(`CREATE TABLE ${t} (id INT PRIMARY KEY, created_at DATETIME NOT NULL, KEY ix_created (created_at)) ENGINE=InnoDB`);
  }
  // 100 days old under a 30-day rule: far behind. 31 days: within purgeBehindDays (2) of the cutoff.
  await q('INSERT INTO old_events VALUES (1, ?), (2, ?)', [new Date(now.getTime() - 100 * DAY), new Date(now.getTime() - DAY)]);
  await q('INSERT INTO recent_events VALUES (1, ?), (2, ?)', [new Date(now.getTime() - 31 * DAY), new Date(now.getTime() - DAY)]);
  // Old orders that are not completed: the archive rule never takes them, so they are not "behind".
  await q('CREATE TABLE orders (id INT PRIMARY KEY, status VARCHAR(20) NOT NULL, completed_at DATETIME NULL, KEY ix_completed (completed_at)) ENGINE=InnoDB');
  await q(`INSERT INTO orders VALUES (1, 'pending', ?), (2, 'pending', ?), (3, 'completed', ?)`, [
    new Date(now.getTime() - 200 * DAY),
    new Date(now.getTime() - 100 * DAY),
    new Date(now.getTime() - 10 * DAY),
  ]);

  // Clean: a key, an index, fresh statistics, nothing to say.
  await q(`CREATE TABLE \`${CLEAN}\`.accounts (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(50) NOT NULL, created_at DATETIME NOT NULL, KEY ix_created (created_at)) ENGINE=InnoDB`);
  await q(`INSERT INTO \`${CLEAN}\`.accounts (name, created_at) SELECT CONCAT('n', seq), NOW() FROM seq_1_to_100`);

  // Let InnoDB purge the deleted records, then give every table fresh statistics before aging two of them.
  await q('SET GLOBAL innodb_max_purge_lag_wait = 0');
  const [tables] = await admin.query<mysql.RowDataPacket[]>(
    `SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA IN (?, ?) AND ENGINE = 'InnoDB'`,
    [SCHEMA, CLEAN],
  );
  for (const t of tables) await q(`ANALYZE TABLE \`${t['s']}\`.\`${t['t']}\``);
  await q(`UPDATE mysql.innodb_table_stats SET last_update = last_update - INTERVAL 30 DAY WHERE database_name = ? AND table_name = 'stale'`, [SCHEMA]);
  await q(`DELETE FROM mysql.innodb_table_stats WHERE database_name = ? AND table_name = 'never_stats'`, [SCHEMA]);
  await q(`DELETE FROM mysql.innodb_index_stats WHERE database_name = ? AND table_name = 'never_stats'`, [SCHEMA]);

  // History, by hand: fragmented grows 200 MiB/day, ai_mid 1 MiB/day, a dropped table 500 MiB/day; the schema 1 GiB/day.
  for (const ddl of historyDdl(HISTORY)) await q(ddl);
  for (let i = 0; i < 4; i++) {
    const at = new Date(now.getTime() - (3 - i) * DAY);
    await tableHistory('fragmented', at, (100 + 200 * i) * MIB, 1000 + 500 * i);
    await tableHistory('ai_mid', at, (10 + i) * MIB, 10);
    await tableHistory('dropped_since', at, (10 + 500 * i) * MIB, 10);
    await schemaHistory(SCHEMA, at, (1 + i) * GIB);
  }
  // Outside the 30-day window: must not bend the trend.
  await schemaHistory(SCHEMA, new Date(now.getTime() - 60 * DAY), 9 * GIB);

  db = await openSession(credentialsFromUrl(serverUrl()), SESSION, 'disabled');
});

afterAll(async () => {
  await db?.close();
  await admin.query(`DROP USER IF EXISTS '${LIMITED_USER}'@'%'`);
  await admin.end();
});

describe('generateRecommendations', () => {
  it('finds exactly what the schema was built to trigger, high first, with every check accounted for', async () => {
    const r = await generateRecommendations(db, options());
    const inSchema = r.items.filter((i) => i.object.startsWith(`${SCHEMA}.`)).map((i) => `${i.code} ${i.object} ${i.priority}`);
    expect(inSchema.sort()).toEqual(
      [
        'AUTO_INCREMENT_EXHAUSTION reco_t.ai_mid medium',
        'AUTO_INCREMENT_EXHAUSTION reco_t.ai_near high',
        'DUPLICATE_INDEX reco_t.idx.ix_d2 medium',
        'DUPLICATE_INDEX reco_t.idx.ix_e medium',
        'FRAGMENTED_TABLE reco_t.fragmented high',
        'LARGE_TABLE reco_t.fragmented low',
        'NON_INNODB_TABLE reco_t.legacy_aria low',
        'NON_INNODB_TABLE reco_t.legacy_myisam medium',
        'NO_PRIMARY_KEY reco_t.no_pk medium',
        'NO_PRIMARY_KEY reco_t.no_pk_uk medium',
        'PURGE_FALLING_BEHIND reco_t.old_events high',
        'RAPID_GROWTH reco_t.fragmented medium',
        'REDUNDANT_INDEX reco_t.idx.ix_a_id low',
        'REDUNDANT_INDEX reco_t.idx.ix_b low',
        'REDUNDANT_INDEX reco_t.idx.ix_c_prefix low',
        'RETENTION_DATE_UNINDEXED reco_t.events_unindexed high',
        'STALE_STATISTICS reco_t.never_stats low',
        'STALE_STATISTICS reco_t.stale low',
      ].sort(),
    );
    expect(r.items.filter((i) => i.object === 'server').map((i) => `${i.code} ${i.priority}`).sort()).toEqual(['CONNECTION_USAGE medium', 'STORAGE_HORIZON high']);
    // Nothing else: no item outside the two schemas and the server.
    expect(r.items.filter((i) => !i.object.startsWith(`${SCHEMA}.`) && i.object !== 'server')).toEqual([]);

    const ranks = r.items.map((i) => ['high', 'medium', 'low'].indexOf(i.priority));
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
    expect(r.counts).toEqual({
      high: r.items.filter((i) => i.priority === 'high').length,
      medium: r.items.filter((i) => i.priority === 'medium').length,
      low: r.items.filter((i) => i.priority === 'low').length,
    });
    expect(r.counts).toEqual({ high: 5, medium: 8, low: 7 });
    expect(r.checks.map((c) => c.code)).toEqual(CHECK_CODES);
    expect(r.checks.filter((c) => c.status === 'skipped').map((c) => c.code)).toEqual(['UNUSED_INDEX', 'SLOW_STATEMENT']);
  });

  it('a clean schema (key, index, fresh statistics) triggers no table-level check', async () => {
    const r = await generateRecommendations(db, options());
    expect(r.items.filter((i) => i.object.startsWith(`${CLEAN}.`))).toEqual([]);
    // It was looked at: eight days on, its statistics are older than the 7 days allowed.
    const later = await generateRecommendations(db, options({ now: new Date(Date.now() + 8 * DAY) }));
    expect(later.items.filter((i) => i.object.startsWith(`${CLEAN}.`)).map((i) => `${i.code} ${i.object}`)).toEqual(['STALE_STATISTICS reco_clean.accounts']);
  });

  it('FRAGMENTED_TABLE and LARGE_TABLE carry the measured figures and the online rebuild', async () => {
    const r = await generateRecommendations(db, options());
    const f = one(r, 'FRAGMENTED_TABLE', 'reco_t.fragmented');
    expect(f.evidence['basis']).toBe('leaf-pages');
    // 90% of the rows deleted: well over twice the 30% threshold, hence high.
    expect(f.evidence['fragmentationPercent']).toBeGreaterThanOrEqual(60);
    expect(f.evidence['totalBytes']).toBeGreaterThan(5 * MIB);
    expect(f.fix).toBe('ALTER TABLE `reco_t`.`fragmented` FORCE, ALGORITHM=INPLACE, LOCK=NONE');
    // Just over the threshold: medium.
    const pct = Number(f.evidence['fragmentationPercent']);
    const medium = await generateRecommendations(db, options({ thresholds: { fragmentationPercent: Math.floor(pct / 1.5), optimizeMinSizeMb: 5, analyzeAfterDays: 7, analyzeModifiedPercent: 5, analyzeBehindQuerySeconds: 5 } }));
    expect(one(medium, 'FRAGMENTED_TABLE', 'reco_t.fragmented').priority).toBe('medium');
    // Under the size floor: nothing.
    const floor = await generateRecommendations(db, options({ thresholds: { fragmentationPercent: 30, optimizeMinSizeMb: 1000, analyzeAfterDays: 7, analyzeModifiedPercent: 5, analyzeBehindQuerySeconds: 5 } }));
    expect(of(floor, 'FRAGMENTED_TABLE')).toEqual([]);

    const large = one(r, 'LARGE_TABLE', 'reco_t.fragmented');
    expect(large.evidence).toMatchObject({ totalBytes: f.evidence['totalBytes'], thresholdGb: 0.01, cleanupRule: false });
  });

  it('AUTO_INCREMENT_EXHAUSTION: high from 90%, medium from the setting, fix widens to BIGINT keeping the sign', async () => {
    const r = await generateRecommendations(db, options());
    const near = one(r, 'AUTO_INCREMENT_EXHAUSTION', 'reco_t.ai_near');
    expect(near.evidence).toMatchObject({ column: 'id', nextValue: '2000000001', usedPercent: 93.1322, maxValue: '2147483647' });
    expect(near.fix).toMatch(/^ALTER TABLE `reco_t`\.`ai_near` MODIFY `id` BIGINT NOT NULL AUTO_INCREMENT/);
    const mid = one(r, 'AUTO_INCREMENT_EXHAUSTION', 'reco_t.ai_mid');
    expect(mid.evidence['usedPercent']).toBe(81.4907);
    expect(mid.fix).toMatch(/^ALTER TABLE `reco_t`\.`ai_mid` MODIFY `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT/);
    // Raise the warning level over 81.5%: the 93% counter stays (high), the other goes.
    const strict = await generateRecommendations(db, options({}, { autoIncrementPercent: 85 }));
    expect(of(strict, 'AUTO_INCREMENT_EXHAUSTION').map((i) => `${i.object} ${i.priority}`)).toEqual(['reco_t.ai_near high']);
  });

  it('NO_PRIMARY_KEY and NON_INNODB_TABLE: surrogate key vs promoting a unique NOT NULL key; MyISAM medium, views ignored', async () => {
    const r = await generateRecommendations(db, options());
    const plain = one(r, 'NO_PRIMARY_KEY', 'reco_t.no_pk');
    expect(plain.evidence['clusteredOn']).toBeNull();
    expect(plain.fix).toMatch(/ALTER TABLE `reco_t`\.`no_pk` ADD COLUMN `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY FIRST$/);
    const uk = one(r, 'NO_PRIMARY_KEY', 'reco_t.no_pk_uk');
    expect(uk.evidence['clusteredOn']).toBe('uk_id');
    expect(uk.fix).toBe('ALTER TABLE `reco_t`.`no_pk_uk` ADD PRIMARY KEY (`id`), DROP INDEX `uk_id`, ALGORITHM=INPLACE, LOCK=NONE');
    // Not InnoDB: no NO_PRIMARY_KEY for the MyISAM/Aria tables (they have one anyway) and nothing for the view.
    expect(one(r, 'NON_INNODB_TABLE', 'reco_t.legacy_myisam').fix).toBe('ALTER TABLE `reco_t`.`legacy_myisam` ENGINE=InnoDB /* copies the table, writes wait */');
    expect(one(r, 'NON_INNODB_TABLE', 'reco_t.legacy_aria').evidence['engine']).toBe('Aria');
    expect(r.items.filter((i) => i.object.includes('v_legacy'))).toEqual([]);
  });

  it('DUPLICATE_INDEX and REDUNDANT_INDEX name the index kept and drop the other online; FULLTEXT, direction and prefix length respected', async () => {
    const r = await generateRecommendations(db, options());
    expect(one(r, 'DUPLICATE_INDEX', 'reco_t.idx.ix_d2').evidence).toMatchObject({ keptIndex: 'ix_d1', columns: 'd', reason: 'same-columns' });
    const e = one(r, 'DUPLICATE_INDEX', 'reco_t.idx.ix_e');
    expect(e.evidence).toMatchObject({ keptIndex: 'uk_e', unique: false });
    expect(e.fix).toBe('ALTER TABLE `reco_t`.`idx` DROP INDEX `ix_e`, ALGORITHM=INPLACE, LOCK=NONE');
    expect(one(r, 'REDUNDANT_INDEX', 'reco_t.idx.ix_a_id').evidence).toMatchObject({ keptIndex: 'ix_a', columns: 'a, id', reason: 'primary-key-suffix' });
    expect(one(r, 'REDUNDANT_INDEX', 'reco_t.idx.ix_b').evidence).toMatchObject({ keptIndex: 'ix_b_c', keptColumns: 'b, c', reason: 'left-prefix' });
    // c(10) is a prefix of the full c: the full index serves its lookups. The reverse is not reported.
    expect(one(r, 'REDUNDANT_INDEX', 'reco_t.idx.ix_c_prefix').evidence).toMatchObject({ keptIndex: 'ix_c', columns: 'c(10)' });
    const objects = [...of(r, 'DUPLICATE_INDEX'), ...of(r, 'REDUNDANT_INDEX')].map((i) => i.object);
    expect(objects).not.toContain('reco_t.idx.ix_a');
    expect(objects).not.toContain('reco_t.idx.ix_d_desc');
    expect(objects.filter((o) => o.startsWith('reco_t.docs'))).toEqual([]);
  });

  it('STALE_STATISTICS: aged and never-collected statistics with ANALYZE as fix; transient statistics ignored', async () => {
    const r = await generateRecommendations(db, options());
    const stale = one(r, 'STALE_STATISTICS', 'reco_t.stale');
    expect(stale.evidence['ageDays']).toBeGreaterThan(29);
    expect(stale.fix).toBe('ANALYZE TABLE `reco_t`.`stale`');
    expect(one(r, 'STALE_STATISTICS', 'reco_t.never_stats').evidence).toMatchObject({ statsUpdatedAt: null, ageDays: null });
    expect(of(r, 'STALE_STATISTICS').map((i) => i.object)).not.toContain('reco_t.transient');
    // 40 days allowed: the 30-day-old statistics pass, the missing ones do not.
    const lax = await generateRecommendations(db, options({ thresholds: { fragmentationPercent: 30, optimizeMinSizeMb: 5, analyzeAfterDays: 40, analyzeModifiedPercent: 5, analyzeBehindQuerySeconds: 5 } }));
    expect(of(lax, 'STALE_STATISTICS').map((i) => i.object)).toEqual(['reco_t.never_stats']);
  });

  it('retention: an unindexed date column, a purge falling behind, extra criteria respected, unjudgeable rules noted', async () => {
    const r = await generateRecommendations(db, options());
    const unindexed = one(r, 'RETENTION_DATE_UNINDEXED', 'reco_t.events_unindexed');
    expect(unindexed.fix).toBe('CREATE INDEX `ix_created_at` ON `reco_t`.`events_unindexed` (`created_at`) ALGORITHM=INPLACE LOCK=NONE');
    expect(unindexed.evidence).toMatchObject({ dateColumn: 'created_at', retentionDays: 30, allowFullScan: false });
    expect(status(r, 'RETENTION_DATE_UNINDEXED')!.note).toBe('rules not judged: reco_t.missing_table: table not found');

    const behind = one(r, 'PURGE_FALLING_BEHIND', 'reco_t.old_events');
    expect(behind.evidence).toMatchObject({ retentionDays: 30, purgeBehindDays: 2, cutoff: new Date(now.getTime() - 30 * DAY).toISOString() });
    expect(behind.evidence['oldestAgeDays']).toBe(100);
    expect(behind.evidence['daysPastCutoff']).toBe(70);
    // The unindexed rule's table is not scanned, and that is said.
    const note = status(r, 'PURGE_FALLING_BEHIND')!.note!;
    expect(note).toContain('reco_t.events_unindexed: no index on created_at');
    expect(note).toContain('reco_t.missing_table: table not found');
    // recent_events (1 day past the cutoff, within purgeBehindDays) and orders (only pending orders are old) are fine.
    expect(of(r, 'PURGE_FALLING_BEHIND').map((i) => i.object)).toEqual(['reco_t.old_events']);

    // A completed order 50 days old is one the archive rule should have taken.
    await q(`INSERT INTO \`${SCHEMA}\`.orders VALUES (4, 'completed', ?)`, [new Date(now.getTime() - 50 * DAY)]);
    try {
      const again = await generateRecommendations(db, options());
      expect(one(again, 'PURGE_FALLING_BEHIND', 'reco_t.orders').evidence).toMatchObject({ oldestAgeDays: 50, action: 'archive' });
    } finally {
      await q(`DELETE FROM \`${SCHEMA}\`.orders WHERE id = 4`);
    }
  });

  it('RAPID_GROWTH and STORAGE_HORIZON come out of the history rows as computed by hand', async () => {
    const r = await generateRecommendations(db, options());
    const g = one(r, 'RAPID_GROWTH', 'reco_t.fragmented');
    expect(g.evidence).toMatchObject({ bytesPerDay: 200 * MIB, mbPerDay: 200, rowsPerDay: 500, points: 4, spanDays: 3, thresholdMbPerDay: 100 });
    // ai_mid grows 1 MiB/day (under the threshold); the dropped table's history is ignored.
    expect(of(r, 'RAPID_GROWTH').map((i) => i.object)).toEqual(['reco_t.fragmented']);

    const h = one(r, 'STORAGE_HORIZON', 'server');
    const current = Number(h.evidence['currentBytes']);
    expect(h.evidence).toMatchObject({ bytesPerDay: GIB, limitBytes: 10 * GIB, horizonDays: 30 });
    expect(h.evidence['daysToLimit']).toBe(daysUntil(10 * GIB, current, GIB));
    // 100 GiB away: over the 30-day horizon, no item, and the check says how far.
    const far = await generateRecommendations(db, options({ storageLimitBytes: 100 * GIB }));
    expect(of(far, 'STORAGE_HORIZON')).toEqual([]);
    expect(status(far, 'STORAGE_HORIZON')).toMatchObject({ status: 'ran', note: expect.stringMatching(/^\d+(\.\d)? days to the storage limit at 1024 MiB\/day$/) });
  });

  it('growth checks are skipped, with the reason, without history, without enough of it, or without a limit', async () => {
    const none = await generateRecommendations(db, options({ historySchema: 'reco_no_history' }));
    expect(status(none, 'RAPID_GROWTH')).toEqual({
      code: 'RAPID_GROWTH',
      status: 'skipped',
      note: 'no statistics history: reco_no_history.table_size_history does not exist yet (collect-statistics creates it)',
    });
    expect(status(none, 'STORAGE_HORIZON')).toMatchObject({ status: 'skipped', note: expect.stringContaining('reco_no_history.schema_size_history does not exist') });

    const short = await generateRecommendations(db, options({ minHistoryHours: 240 }));
    expect(status(short, 'RAPID_GROWTH')).toMatchObject({ status: 'skipped', note: 'not enough history: snapshots span 72 h; a trend needs at least 240 h' });
    expect(status(short, 'STORAGE_HORIZON')).toMatchObject({ status: 'skipped', note: 'not enough history: snapshots span 72 h; a trend needs at least 240 h' });

    const other = await generateRecommendations(db, options({ target: 'reco-other' }));
    expect(status(other, 'RAPID_GROWTH')).toMatchObject({ status: 'skipped', note: 'no snapshots of these tables for target reco-other in the last 30 days' });

    const unlimited = await generateRecommendations(db, options({ storageLimitBytes: undefined }));
    expect(status(unlimited, 'STORAGE_HORIZON')).toMatchObject({ status: 'skipped', note: 'no storage limit configured (targets[].storageLimitGb)' });

    // Already over the limit: high whatever the history says.
    const full = await generateRecommendations(db, options({ historySchema: 'reco_no_history', storageLimitBytes: 1000 }));
    expect(one(full, 'STORAGE_HORIZON', 'server').evidence).toMatchObject({ daysToLimit: 0, limitBytes: 1000 });
  });

  it('CONNECTION_USAGE reports both figures; medium from the warning level, high from the critical one', async () => {
    const r = await generateRecommendations(db, options());
    const c = one(r, 'CONNECTION_USAGE', 'server');
    expect(c.priority).toBe('medium');
    // This session and the admin connection at least, out of the test server's 200.
    expect(c.evidence['maxConnections']).toBe(200);
    expect(c.evidence['threadsConnected']).toBeGreaterThanOrEqual(2);
    expect(c.evidence['maxUsedConnections']).toBeGreaterThanOrEqual(Number(c.evidence['threadsConnected']));
    expect(c.fix).toMatch(/SET GLOBAL max_connections = \d+$/);
    const critical = await generateRecommendations(db, options({}, { connectionsCriticalPercent: 1 }));
    expect(one(critical, 'CONNECTION_USAGE', 'server').priority).toBe('high');
    const quiet = await generateRecommendations(db, options({}, { connectionsWarningPercent: 100, connectionsCriticalPercent: 100 }));
    expect(of(quiet, 'CONNECTION_USAGE')).toEqual([]);
    expect(status(quiet, 'CONNECTION_USAGE')!.status).toBe('ran');
  });

  it('with performance_schema off, UNUSED_INDEX and SLOW_STATEMENT are skipped and say why', async () => {
    const [[ps]] = await admin.query<mysql.RowDataPacket[]>('SELECT @@performance_schema AS ps');
    expect(Number(ps!['ps'])).toBe(0);
    const r = await generateRecommendations(db, options());
    expect(status(r, 'UNUSED_INDEX')).toEqual({ code: 'UNUSED_INDEX', status: 'skipped', note: 'performance_schema is off: unused indexes cannot be told' });
    expect(status(r, 'SLOW_STATEMENT')).toEqual({ code: 'SLOW_STATEMENT', status: 'skipped', note: 'performance_schema is off: statement digests are not collected' });
    expect(of(r, 'UNUSED_INDEX')).toEqual([]);
    expect(of(r, 'SLOW_STATEMENT')).toEqual([]);
  });

  it('a user without the statistics grants: those checks are skipped with the server error, the run completes', async () => {
    await admin.query(`DROP USER IF EXISTS '${LIMITED_USER}'@'%'`);
    await admin.query(`CREATE USER '${LIMITED_USER}'@'%' IDENTIFIED BY 'limited-pass'`);
    await admin.query(`GRANT SELECT ON \`${SCHEMA}\`.* TO '${LIMITED_USER}'@'%'`);
    await admin.query(`GRANT SELECT ON \`${CLEAN}\`.* TO '${LIMITED_USER}'@'%'`);
    // INSERT only: the history tables are visible, but not readable.
    await admin.query(`GRANT INSERT ON \`${HISTORY}\`.* TO '${LIMITED_USER}'@'%'`);
    const limited = await openSession({ ...credentialsFromUrl(serverUrl()), user: LIMITED_USER, password: 'limited-pass' }, SESSION, 'disabled');
    try {
      const r = await generateRecommendations(limited, options());
      expect(status(r, 'STALE_STATISTICS')).toMatchObject({ status: 'skipped', note: expect.stringMatching(/^ER_TABLEACCESS_DENIED_ERROR: .*innodb_table_stats/) });
      // The history is probed once for both checks: the note names the server's error and the grant.
      const unreadable = /^statistics history not readable \(error 1142: SELECT command denied .*_size_history`\); needs SELECT on /;
      expect(status(r, 'RAPID_GROWTH')).toMatchObject({ status: 'skipped', note: expect.stringMatching(unreadable) });
      expect(status(r, 'STORAGE_HORIZON')).toMatchObject({ status: 'skipped', note: expect.stringMatching(unreadable) });
      // What needs no grant beyond SELECT on the schemas still runs and finds the same things.
      expect(status(r, 'DUPLICATE_INDEX')!.status).toBe('ran');
      expect(of(r, 'DUPLICATE_INDEX').map((i) => i.object).sort()).toEqual(['reco_t.idx.ix_d2', 'reco_t.idx.ix_e']);
      expect(of(r, 'PURGE_FALLING_BEHIND').map((i) => i.object)).toEqual(['reco_t.old_events']);
    } finally {
      await limited.close();
    }
  });
});

describe('index comparisons', () => {
  const col = (name: string, extra: Partial<IndexColumn> = {}): IndexColumn => ({ name, subPart: null, collation: 'A', nullable: true, ...extra });
  const ix = (name: string, cols: (string | IndexColumn)[], extra: Partial<IndexDef> = {}): IndexDef => ({
    name,
    unique: name === 'PRIMARY',
    primary: name === 'PRIMARY',
    type: 'BTREE',
    columns: cols.map((c) => (typeof c === 'string' ? col(c) : c)),
    usable: true,
    ...extra,
  });
  const table = (...indexes: IndexDef[]): TableIndexes => ({ schema: 's', table: 't', indexes });
  const found = (t: TableIndexes, innodb = true) => findRedundantIndexes(t, innodb).map((f) => `${f.index.name}<${f.keeper.name}:${f.reason}`);

  it('never drops an index another finding keeps: (a), (a, id) and (a, c) lose only one of the first two', () => {
    expect(found(table(ix('PRIMARY', ['id']), ix('ix_a', ['a']), ix('ix_a_id', ['a', 'id']), ix('ix_a_c', ['a', 'c'])))).toEqual(['ix_a_id<ix_a:primary-key-suffix']);
    // Without InnoDB's appended key, (a) is simply a prefix: the longest index keeps it.
    expect(found(table(ix('PRIMARY', ['id']), ix('ix_a', ['a']), ix('ix_a_b_c', ['a', 'b', 'c']), ix('ix_a_b', ['a', 'b'])), false)).toEqual([
      'ix_a<ix_a_b_c:left-prefix',
      'ix_a_b<ix_a_b_c:left-prefix',
    ]);
  });

  it('keeps the primary key and unique indexes, leaves invisible, expression, FULLTEXT and HASH indexes alone', () => {
    expect(found(table(ix('PRIMARY', ['id']), ix('ix_id', ['id']), ix('ix_id_a', ['id', 'a'])))).toEqual(['ix_id<PRIMARY:same-columns']);
    expect(found(table(ix('uk_a', ['a'], { unique: true }), ix('uk_a_b', ['a', 'b'], { unique: true })))).toEqual([]);
    expect(found(table(ix('ix_a', ['a']), ix('ix_a2', ['a'], { usable: false })))).toEqual([]);
    expect(found(table(ix('ix_f', [col('a'), { ...col('x'), name: null }]), ix('ix_a', ['a'])))).toEqual([]);
    expect(found(table(ix('ft1', ['body'], { type: 'FULLTEXT' }), ix('ft2', ['body'], { type: 'FULLTEXT' })))).toEqual([]);
    expect(found(table(ix('h_a', ['a'], { type: 'HASH' }), ix('h_a_b', ['a', 'b'], { type: 'HASH' })), false)).toEqual([]);
  });
});
