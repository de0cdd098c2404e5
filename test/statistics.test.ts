// collect-statistics against a real MariaDB: sizes, AUTO_INCREMENT headroom, history snapshots, growth and capacity.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type mysql from 'mysql2/promise';
import { UrlCredentialSource } from '../lib/db/credentials';
import type { AnalyzeResult } from '../lib/maintenance/analyze';
import { Deadline } from '../lib/runtime/deadline';
import { silentLog } from '../lib/runtime/log';
import type { CollectResult } from '../lib/stats/collect';
import { runTask } from '../lib/tasks/registry';
import { adminConnection, freshSchema, serverUrl, testConfig } from './support/db';
import { recordingMetrics } from './support/recording-metrics';

const SCHEMA = 'stats_t';
const HISTORY = 'stats_t_log';
const MB = 1024 * 1024;
const GB = 1024 * MB;
const DAY = 86_400_000;
let admin: mysql.Connection;
const { metrics, published } = recordingMetrics();

function env(now: Date, extra: Record<string, unknown> = {}, target: Record<string, unknown> = {}) {
  const config = testConfig([SCHEMA], { statistics: { minHistoryHours: 12, exactCountMaxRows: 1000 }, ...extra }, HISTORY);
  return {
    config: { ...config, targets: [{ ...config.targets[0]!, storageLimitGb: 10, ...target }] },
    credentials: new UrlCredentialSource(serverUrl()),
    metrics,
    log: silentLog,
    deadline: Deadline.unlimited(),
    now: () => now,
  };
}

async function collect(now: Date, event: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Promise<CollectResult> {
  published.length = 0;
  const out = await runTask('collect-statistics', event, env(now, extra));
  expect(out.status).toBe('succeeded');
  return out.result as CollectResult;
}

/** Write a schema snapshot by hand: the trend must come out of exactly these numbers. */
async function snapshot(at: Date, totalBytes: number, rows: number, table?: { name: string; bytes: number }): Promise<void> {
  const run = randomUUID();
  await admin.query(
    `INSERT INTO \`${HISTORY}\`.schema_size_history (target, schema_name, captured_at, run_id, table_count, rows_estimate, data_bytes, index_bytes, free_bytes, total_bytes)
     VALUES ('test', ?, ?, ?, 1, ?, ?, 0, 0, ?)`,
    [SCHEMA, at, run, rows, totalBytes, totalBytes],
  );
  if (table) {
    await admin.query(
      `INSERT INTO \`${HISTORY}\`.table_size_history (target, schema_name, table_name, captured_at, run_id, engine, rows_estimate, data_bytes, index_bytes, free_bytes, total_bytes)
       VALUES ('test', ?, ?, ?, ?, 'InnoDB', ?, ?, 0, 0, ?)`,
      [SCHEMA, table.name, at, run, rows, table.bytes, table.bytes],
    );
  }
}

beforeAll(async () => {
  admin = await adminConnection();
  await freshSchema(admin, SCHEMA);
  await admin.query(`DROP DATABASE IF EXISTS \`${HISTORY}\``);
  await admin.query(`USE \`${SCHEMA}\``);
  // AUTO_INCREMENT counters placed where the arithmetic is easy to do by hand.
  await admin.query('CREATE TABLE ai_int (id INT AUTO_INCREMENT PRIMARY KEY) ENGINE=InnoDB AUTO_INCREMENT=1073741825');
  await admin.query('CREATE TABLE ai_uint (id INT UNSIGNED AUTO_INCREMENT PRIMARY KEY) ENGINE=InnoDB AUTO_INCREMENT=4294967295');
  await admin.query('CREATE TABLE ai_bigint (id BIGINT AUTO_INCREMENT PRIMARY KEY) ENGINE=InnoDB AUTO_INCREMENT=4611686018427387904');
  await admin.query('CREATE TABLE ai_ubigint (id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY) ENGINE=InnoDB AUTO_INCREMENT=9223372036854775808');
  await admin.query('CREATE TABLE ai_tiny (id TINYINT AUTO_INCREMENT PRIMARY KEY) ENGINE=InnoDB');
  await admin.query('INSERT INTO ai_tiny VALUES (), (), ()');
  await admin.query('CREATE TABLE events (id INT PRIMARY KEY, created_at DATETIME NOT NULL, pad VARCHAR(200) NOT NULL, KEY ix_created (created_at)) ENGINE=InnoDB');
  await admin.query("INSERT INTO events SELECT seq, '2026-01-01' + INTERVAL seq SECOND, REPEAT('e', 200) FROM seq_1_to_30000");
  await admin.query('CREATE TABLE legacy (id INT PRIMARY KEY) ENGINE=Aria');
  await admin.query('CREATE VIEW v_events AS SELECT id FROM events');
  await admin.query('ANALYZE TABLE events');
});
afterAll(async () => {
  await admin.end();
});

describe('collect-statistics', () => {
  it('first run: measures every base table, writes a snapshot, and says there is not enough history', async () => {
    const now = new Date();
    const r = await collect(now);
    const names = r.tables.map((t) => t.table).sort();
    expect(names).toEqual(['ai_bigint', 'ai_int', 'ai_tiny', 'ai_ubigint', 'ai_uint', 'events', 'legacy']);
    expect(r.tables[0]!.table).toBe('events'); // largest first
    const events = r.tables.find((t) => t.table === 'events')!;
    expect(events.fileBytes).toBeGreaterThan(6 * MB);
    expect(events.totalBytes).toBe(events.fileBytes);
    expect(events.sharedTablespace).toBe(false);
    expect(events.indexCount).toBe(2);
    // Per index: the clustered index is DATA_LENGTH, the secondary ones add up to INDEX_LENGTH (same statistics).
    expect(events.indexSizes!.map((i) => i.index).sort()).toEqual(['PRIMARY', 'ix_created']);
    expect(events.indexSizes!.find((i) => i.index === 'PRIMARY')!.bytes).toBe(events.dataBytes);
    expect(events.indexSizes!.filter((i) => i.index !== 'PRIMARY').reduce((n, i) => n + i.bytes, 0)).toBe(events.indexBytes);
    expect(events.fragmentationBasis).toBe('leaf-pages');
    expect(events.rowsEstimate).toBeGreaterThan(20_000);
    // Exact counts only under exactCountMaxRows (1,000): the 3-row table, not events.
    expect(r.tables.find((t) => t.table === 'ai_tiny')!.rowsExact).toBe(3);
    expect(events.rowsExact).toBeUndefined();
    expect(r.tables.find((t) => t.table === 'legacy')!.fragmentationBasis).toBe('data-free');
    expect(r.database.tableCount).toBe(7);
    // Every table here is under the 100 MB optimize floor: none counts as "most fragmented".
    expect(r.database.maxFragmentation).toBeNull();
    expect(r.database.totalBytes).toBe(r.tables.reduce((n, t) => n + t.totalBytes, 0));
    expect(r.growth.bytes).toEqual({ notEnoughHistory: '1 snapshot in the window; a trend needs at least 2' });
    expect(r.capacity).toMatchObject({ limitBytes: 10 * GB, daysToLimit: null });
    expect(r.history.written).toBe(true);
    const [[n]] = await admin.query<mysql.RowDataPacket[]>(`SELECT COUNT(*) AS n FROM \`${HISTORY}\`.table_size_history WHERE captured_at = ?`, [now]);
    expect(Number(n!['n'])).toBe(7);
    // No trend: no growth metric (an alarm would read a zero as "not growing").
    expect(published.some((p) => p.includes('GrowthBytesPerDay'))).toBe(false);
    expect(published).toContain(`*:DatabaseSizeBytes=${r.database.totalBytes}`);
    expect(published).toContain('*:TableCount=7');
  });

  it('computes AUTO_INCREMENT usage for signed and unsigned INT and BIGINT', async () => {
    const r = await collect(new Date(), { dryRun: true });
    const used = Object.fromEntries(r.tables.filter((t) => t.autoIncrement).map((t) => [t.table, t.autoIncrement!.usedPercent]));
    expect(used).toEqual({
      ai_int: 50, // 1073741824 / 2147483647
      ai_uint: 99.9999, // 4294967294 / 4294967295, truncated to 4 decimals
      ai_bigint: 49.9999, // (2^62 − 1) / (2^63 − 1): just under a half
      ai_ubigint: 49.9999, // (2^63 − 1) / (2^64 − 1): a double would say exactly 50
      ai_tiny: 2.3622, // three rows: 3 / 127
    });
    expect(r.database.maxAutoIncrement).toEqual({ table: 'stats_t.ai_uint', column: 'id', percent: 99.9999 });
    expect(published).toContain('*:MaxAutoIncrementUsedPercent=99.9999');
  });

  it('growth and capacity from several snapshots come out as computed by hand', async () => {
    await admin.query(`DELETE FROM \`${HISTORY}\`.schema_size_history`);
    await admin.query(`DELETE FROM \`${HISTORY}\`.table_size_history`);
    const now = new Date(Date.UTC(2026, 10, 25, 6, 0, 0));
    // Days −3..0: 100, 110, 130, 140 MB. x̄ = 1.5, ȳ = 120; Σ(x−x̄)(y−ȳ) = 30+5+5+30 = 70; Σ(x−x̄)² = 5 → 14 MB/day.
    // Rows 1000, 1000, 1300, 1300 → Σ(x−x̄)(y−ȳ) = 225+75+75+225 = 600 → 120 rows/day.
    // Table `events` grows 2 MB/day exactly; table `gone` shrinks.
    const sizes = [100, 110, 130, 140];
    const rows = [1000, 1000, 1300, 1300];
    for (let i = 0; i < 4; i++) {
      const at = new Date(now.getTime() - (3 - i) * DAY);
      await snapshot(at, sizes[i]! * MB, rows[i]!, { name: 'events', bytes: (10 + 2 * i) * MB });
      await admin.query(
        `INSERT INTO \`${HISTORY}\`.table_size_history (target, schema_name, table_name, captured_at, run_id, rows_estimate, data_bytes, index_bytes, free_bytes, total_bytes)
         VALUES ('test', ?, 'gone', ?, 'x', 0, 0, 0, 0, ?)`,
        [SCHEMA, at, (50 - i) * MB],
      );
    }
    // An old snapshot outside the 30-day window must not count.
    await snapshot(new Date(now.getTime() - 40 * DAY), 1, 1);
    // Dry run: reads the history, writes no snapshot of its own.
    const r = await collect(now, { dryRun: true });
    expect(r.growth.bytes).toEqual({ perDay: 14 * MB, points: 4, spanDays: 3 });
    expect(r.growth.rows).toEqual({ perDay: 120, points: 4, spanDays: 3 });
    // Days to 10 GB from the size measured now, at 14 MB/day.
    const expected = Math.round(((10 * GB - r.database.totalBytes) / (14 * MB)) * 10) / 10;
    expect(r.capacity!.daysToLimit).toBe(expected);
    expect(r.topGrowers).toEqual([{ table: 'stats_t.events', bytesPerDay: 2 * MB, rowsPerDay: 120, totalBytes: r.tables.find((t) => t.table === 'events')!.totalBytes }]);
    expect(published).toEqual(expect.arrayContaining([`*:GrowthBytesPerDay=${14 * MB}`, '*:GrowthRowsPerDay=120', `*:DaysToStorageLimit=${expected}`]));
    const [[n]] = await admin.query<mysql.RowDataPacket[]>(`SELECT COUNT(*) AS n FROM \`${HISTORY}\`.schema_size_history`);
    expect(Number(n!['n'])).toBe(5);
  });

  it('snapshots closer together than minHistoryHours give no trend yet', async () => {
    await admin.query(`DELETE FROM \`${HISTORY}\`.schema_size_history`);
    const now = new Date(Date.UTC(2026, 10, 25, 6, 0, 0));
    await snapshot(new Date(now.getTime() - 3_600_000), 100 * MB, 10);
    await snapshot(now, 200 * MB, 20);
    const r = await collect(now, { dryRun: true });
    expect(r.growth.bytes).toEqual({ notEnoughHistory: 'snapshots span 1 h; a trend needs at least 12 h' });
    expect(r.capacity!.daysToLimit).toBeNull();
  });

  it('prunes snapshots older than historyRetentionDays', async () => {
    const now = new Date();
    await snapshot(new Date(now.getTime() - 500 * DAY), 1, 1);
    await collect(now, {}, { statistics: { historyRetentionDays: 400 } });
    const [[n]] = await admin.query<mysql.RowDataPacket[]>(`SELECT COUNT(*) AS n FROM \`${HISTORY}\`.schema_size_history WHERE captured_at < ?`, [new Date(now.getTime() - 400 * DAY)]);
    expect(Number(n!['n'])).toBe(0);
  });

  it('publishes per-table metrics only for the largest metricTables tables', async () => {
    await collect(new Date(), { dryRun: true }, { statistics: { metricTables: 2 } });
    const tables = new Set(published.filter((p) => !p.startsWith('*:')).map((p) => p.split(':')[0]));
    expect(tables.size).toBe(2);
    expect(tables.has('stats_t.events')).toBe(true);
  });
});

describe('analyze-tables by modification counter', () => {
  it('analyzes a table with fresh statistics once enough of it changed', async () => {
    await admin.query('CREATE TABLE churn (id INT PRIMARY KEY, v INT NOT NULL) ENGINE=InnoDB STATS_AUTO_RECALC=0');
    await admin.query('INSERT INTO churn SELECT seq, 0 FROM seq_1_to_2000');
    await admin.query('ANALYZE TABLE churn');
    const before = await runTask('analyze-tables', { dryRun: true, tables: ['churn'] }, env(new Date()));
    expect((before.result as AnalyzeResult).tables[0]).toMatchObject({ table: 'churn', action: 'fresh', modifiedPercent: 0 });
    await admin.query('UPDATE churn SET v = 1 WHERE id <= 200'); // 10% of the rows
    const after = await runTask('analyze-tables', { dryRun: true, tables: ['churn'] }, env(new Date()));
    expect((after.result as AnalyzeResult).tables[0]).toMatchObject({ table: 'churn', action: 'would-analyze', reason: 'modified', modifiedPercent: 10 });
    expect((after.result as AnalyzeResult).modificationCounters).toBe(true);
  });
});
