// Pure parts of the statistics and maintenance code: trends, AUTO_INCREMENT usage, InnoDB names,
// free-space estimates, metadata-lock holders and the choice of tables to optimize. No database.
import { describe, expect, it } from 'vitest';
import { optimizeSettingsSchema } from '../lib/config/schema';
import { blockingHolders, describeHolder, type LockHolder } from '../lib/maintenance/metadata-locks';
import { selectForOptimize, type OptimizeOptions } from '../lib/maintenance/optimize';
import { autoIncrementUsedPercent, integerTypeMax } from '../lib/stats/auto-increment';
import { estimateFreeSpace } from '../lib/stats/fragmentation';
import { schemaTotals } from '../lib/stats/history';
import { baseTableName, decodeFilename, dictionaryPattern, encodeFilename, parseDictionaryName } from '../lib/stats/innodb-names';
import { statisticsStale, type TableSize } from '../lib/stats/sizes';
import { daysUntil, slopeFromSums, sumsOf } from '../lib/stats/trend';

const MB = 1024 * 1024;

describe('trend: least-squares slope', () => {
  it('sums the points (n, Σx, Σy, Σxy, Σx², span)', () => {
    // (0,100),(1,110),(2,130): Σx = 3, Σy = 340, Σxy = 0 + 110 + 260 = 370, Σx² = 0 + 1 + 4 = 5, span 2 days.
    expect(sumsOf([
      { days: 0, value: 100 },
      { days: 1, value: 110 },
      { days: 2, value: 130 },
    ])).toEqual({ n: 3, sx: 3, sy: 340, sxy: 370, sxx: 5, spanDays: 2 });
    // The span is max − min of the days, whatever the order of the points.
    expect(sumsOf([
      { days: 5, value: 1 },
      { days: 2, value: 1 },
      { days: 9, value: 1 },
    ]).spanDays).toBe(7);
    expect(sumsOf([])).toEqual({ n: 0, sx: 0, sy: 0, sxy: 0, sxx: 0, spanDays: 0 });
  });

  it('finds 15 units/day for (0,100),(1,110),(2,130)', () => {
    // denom = nΣx² − (Σx)² = 3·5 − 9 = 6; numerator = nΣxy − ΣxΣy = 3·370 − 3·340 = 90; slope = 90 / 6 = 15.
    const t = slopeFromSums(sumsOf([
      { days: 0, value: 100 },
      { days: 1, value: 110 },
      { days: 2, value: 130 },
    ]), 1);
    expect(t).toEqual({ perDay: 15, points: 3, spanDays: 2 });
  });

  it('fits a line through noisy points', () => {
    // (0,10),(1,12),(2,11),(3,15): n = 4, Σx = 6, Σy = 48, Σxy = 0 + 12 + 22 + 45 = 79, Σx² = 14.
    // denom = 4·14 − 36 = 20; numerator = 4·79 − 6·48 = 316 − 288 = 28; slope = 1.4.
    const t = slopeFromSums(sumsOf([
      { days: 0, value: 10 },
      { days: 1, value: 12 },
      { days: 2, value: 11 },
      { days: 3, value: 15 },
    ]), 1);
    expect('perDay' in t).toBe(true);
    if (!('perDay' in t)) return;
    expect(t.perDay).toBeCloseTo(1.4, 10);
    expect(t.points).toBe(4);
    expect(t.spanDays).toBe(3);
  });

  it('gives a negative slope for a shrinking value, with fractional days', () => {
    // (0,50),(2,40),(4,20): n = 3, Σx = 6, Σy = 110, Σxy = 0 + 80 + 80 = 160, Σx² = 20.
    // denom = 60 − 36 = 24; numerator = 480 − 660 = −180; slope = −7.5.
    const down = slopeFromSums(sumsOf([
      { days: 0, value: 50 },
      { days: 2, value: 40 },
      { days: 4, value: 20 },
    ]), 1);
    expect(down).toEqual({ perDay: -7.5, points: 3, spanDays: 4 });
    // (0,0),(0.5,1),(1,2): a perfect line of 2 per day.
    const half = slopeFromSums(sumsOf([
      { days: 0, value: 0 },
      { days: 0.5, value: 1 },
      { days: 1, value: 2 },
    ]), 0.5);
    expect('perDay' in half && half.perDay).toBeCloseTo(2, 10);
  });

  it('needs at least two snapshots', () => {
    expect(slopeFromSums(sumsOf([]), 0)).toEqual({ notEnoughHistory: '0 snapshots in the window; a trend needs at least 2' });
    expect(slopeFromSums(sumsOf([{ days: 3, value: 7 }]), 0)).toEqual({
      notEnoughHistory: '1 snapshot in the window; a trend needs at least 2',
    });
  });

  it('needs the snapshots to span minSpanDays', () => {
    // Span 0.25 day = 6 h, minimum 1 day = 24 h.
    const t = slopeFromSums(sumsOf([
      { days: 0, value: 1 },
      { days: 0.25, value: 2 },
    ]), 1);
    expect(t).toEqual({ notEnoughHistory: 'snapshots span 6 h; a trend needs at least 24 h' });
    // Exactly the minimum span is enough: (0,1),(0.25,2) rises 4 per day.
    const ok = slopeFromSums(sumsOf([
      { days: 0, value: 1 },
      { days: 0.25, value: 2 },
    ]), 0.25);
    expect('perDay' in ok && ok.perDay).toBeCloseTo(4, 10);
  });

  it('has no slope when every snapshot was taken at the same time', () => {
    // Σx = 2, Σx² = 2, n = 2: denom = 2·2 − 4 = 0.
    expect(slopeFromSums(sumsOf([
      { days: 1, value: 5 },
      { days: 1, value: 7 },
    ]), 0)).toEqual({ notEnoughHistory: 'all snapshots were taken at the same time' });
  });
});

describe('trend: daysUntil', () => {
  it('is 0 when the limit is already reached', () => {
    expect(daysUntil(100, 100, 5)).toBe(0);
    expect(daysUntil(100, 120, -5)).toBe(0);
  });
  it('is null when not growing', () => {
    expect(daysUntil(100, 50, 0)).toBeNull();
    expect(daysUntil(100, 50, -1)).toBeNull();
  });
  it('rounds the projection to 0.1 day', () => {
    // (100 − 50) / 3 = 16.666… → 16.7; (1000 − 0) / 7 = 142.857… → 142.9; (10 − 4) / 2 = 3.
    expect(daysUntil(100, 50, 3)).toBe(16.7);
    expect(daysUntil(1000, 0, 7)).toBe(142.9);
    expect(daysUntil(10, 4, 2)).toBe(3);
  });
});

describe('auto-increment: integerTypeMax', () => {
  it('knows the signed and unsigned maxima of every integer type', () => {
    expect(integerTypeMax('tinyint')).toBe(127n);
    expect(integerTypeMax('tinyint(3) unsigned')).toBe(255n);
    expect(integerTypeMax('smallint(6)')).toBe(32_767n);
    expect(integerTypeMax('smallint unsigned')).toBe(65_535n);
    expect(integerTypeMax('mediumint')).toBe(8_388_607n);
    expect(integerTypeMax('mediumint(8) unsigned')).toBe(16_777_215n);
    expect(integerTypeMax('int')).toBe(2_147_483_647n);
    expect(integerTypeMax('int(11)')).toBe(2_147_483_647n);
    expect(integerTypeMax('int(10) unsigned')).toBe(4_294_967_295n);
    expect(integerTypeMax('INTEGER UNSIGNED')).toBe(4_294_967_295n);
    expect(integerTypeMax('bigint(20)')).toBe(9_223_372_036_854_775_807n);
    expect(integerTypeMax('bigint unsigned')).toBe(18_446_744_073_709_551_615n);
    expect(integerTypeMax('bigint(20) unsigned zerofill')).toBe(18_446_744_073_709_551_615n);
  });
  it('is undefined for other types', () => {
    expect(integerTypeMax('decimal(20,0)')).toBeUndefined();
    expect(integerTypeMax('varchar(255)')).toBeUndefined();
    expect(integerTypeMax('double unsigned')).toBeUndefined();
    expect(integerTypeMax('tinytext')).toBeUndefined();
    expect(integerTypeMax('point')).toBeUndefined();
  });
});

describe('auto-increment: autoIncrementUsedPercent', () => {
  it('is 0 before the first row and null without a counter or an integer type', () => {
    expect(autoIncrementUsedPercent('int', 1)).toBe(0);
    expect(autoIncrementUsedPercent('int', '0')).toBe(0);
    expect(autoIncrementUsedPercent('int', null)).toBeNull();
    expect(autoIncrementUsedPercent('varchar(10)', 5)).toBeNull();
    expect(autoIncrementUsedPercent('decimal(10,0)', '99')).toBeNull();
  });

  it('computes (next − 1) / max in percent, truncated to 4 decimals', () => {
    // tinyint: next 128 → 127 used of 127 = 100 %.
    expect(autoIncrementUsedPercent('tinyint', 128)).toBe(100);
    // tinyint unsigned: 128 / 255 = 0.50196078… → 50.1960 %.
    expect(autoIncrementUsedPercent('tinyint unsigned', 129)).toBe(50.196);
    // smallint: 1000 / 32767 = 0.030518509… → 3.0518 %.
    expect(autoIncrementUsedPercent('smallint', 1001)).toBe(3.0518);
    // mediumint unsigned: 8388608 / 16777215 = 0.50000002… → 50 %.
    expect(autoIncrementUsedPercent('mediumint unsigned', 8_388_609)).toBe(50);
    // int(11): 2^30 / (2^31 − 1) = 0.50000000023… → 50 %.
    expect(autoIncrementUsedPercent('int(11)', 1_073_741_825)).toBe(50);
    // int(10) unsigned: 42949672 / 4294967295 = 0.0099999999779… → 0.9999 % (truncated, not rounded to 1).
    expect(autoIncrementUsedPercent('int(10) unsigned', 42_949_673)).toBe(0.9999);
  });

  it('handles BIGINT and BIGINT UNSIGNED counters beyond double precision', () => {
    // bigint signed: next = max + 1 → everything used.
    expect(autoIncrementUsedPercent('bigint(20)', 9_223_372_036_854_775_808n)).toBe(100);
    // bigint signed: next 2^62 + 1 → 2^62 / (2^63 − 1) = 0.5000000000000000000542… → 50 %.
    expect(autoIncrementUsedPercent('bigint', '4611686018427387905')).toBe(50);
    // bigint unsigned, next = max: (2^64 − 2) / (2^64 − 1) = 0.99999999999999999994… → 99.9999 %.
    expect(autoIncrementUsedPercent('bigint unsigned', '18446744073709551615')).toBe(99.9999);
    // next = max + 1: the whole range.
    expect(autoIncrementUsedPercent('bigint(20) unsigned', '18446744073709551616')).toBe(100);
    // next 2^63: (2^63 − 1) / (2^64 − 1) is just under one half → 49.9999 %.
    expect(autoIncrementUsedPercent('bigint unsigned', '9223372036854775808')).toBe(49.9999);
    // next 2^63 + 1: 2^63 / (2^64 − 1) is just over one half → 50 %.
    expect(autoIncrementUsedPercent('bigint unsigned', '9223372036854775809')).toBe(50);
    // A double would see 2^64 − 2 and 2^64 − 1 as the same number; BigInt tells 1 from 0 used of the last two.
    expect(autoIncrementUsedPercent('bigint unsigned', 18_446_744_073_709_551_615n)).toBe(99.9999);
  });
});

describe('innodb-names', () => {
  it('folds partitions onto their table', () => {
    expect(baseTableName('t#P#p0')).toBe('t');
    expect(baseTableName('t#p#p1')).toBe('t');
    expect(baseTableName('orders#P#p2024#SP#sp0')).toBe('orders');
    expect(baseTableName('plain_table')).toBe('plain_table');
  });

  it('decodes @xxxx filename escapes', () => {
    expect(decodeFilename('my@002ddb')).toBe('my-db');
    expect(decodeFilename('ta@0024ble')).toBe('ta$ble');
    expect(decodeFilename('a@002eb@0020c')).toBe('a.b c');
    expect(decodeFilename('plain_name')).toBe('plain_name');
  });

  it('encodes everything outside [A-Za-z0-9_]', () => {
    expect(encodeFilename('my-db')).toBe('my@002ddb');
    expect(encodeFilename('ta$ble')).toBe('ta@0024ble');
    expect(encodeFilename('a.b c')).toBe('a@002eb@0020c');
    expect(encodeFilename('Plain_09')).toBe('Plain_09');
  });

  it('round-trips names with -, ., space, $ and @', () => {
    for (const name of ['my-db', 'v1.2', 'with space', 'ta$ble', 'a-b.c d$e', 'x@y', '@002d']) {
      const encoded = encodeFilename(name);
      expect(encoded).toMatch(/^[A-Za-z0-9_@]*$/);
      expect(decodeFilename(encoded)).toBe(name);
    }
  });

  it('builds a LIKE pattern with _ and % escaped', () => {
    expect(dictionaryPattern('app_db')).toBe('app\\_db/%');
    expect(dictionaryPattern('a_b_c')).toBe('a\\_b\\_c/%');
    expect(dictionaryPattern('my-db')).toBe('my@002ddb/%');
    // '%' never reaches the pattern literally: the filename encoding turns it into @0025.
    expect(dictionaryPattern('50%')).toBe('50@0025/%');
    expect(dictionaryPattern('shop')).toBe('shop/%');
  });

  it('parses dictionary names into schema and table', () => {
    expect(parseDictionaryName('my@002ddb/ta@0024ble')).toEqual({ schema: 'my-db', table: 'ta$ble' });
    expect(parseDictionaryName('app/orders#P#p0')).toEqual({ schema: 'app', table: 'orders' });
    expect(parseDictionaryName('my@002ddb/t@002ex#p#p1')).toEqual({ schema: 'my-db', table: 't.x' });
    expect(parseDictionaryName('no_slash')).toBeUndefined();
    expect(parseDictionaryName('/table')).toBeUndefined();
  });
});

describe('fragmentation: estimateFreeSpace', () => {
  it('gives no percentage for a shared tablespace', () => {
    expect(estimateFreeSpace({ dataBytes: 1000, indexBytes: 200, dataFreeBytes: 5_000_000, fileBytes: 1_000_000, sharedTablespace: true })).toEqual({
      freeBytes: 0,
      fragmentationPercent: null,
      basis: 'shared-tablespace',
    });
  });

  it('uses file − leaf pages when both are known', () => {
    // 100 MiB file, 60 MiB of leaf pages → 40 MiB free = 40 %. DATA_FREE (4 MiB) is smaller.
    expect(estimateFreeSpace({ dataBytes: 90 * MB, indexBytes: 5 * MB, dataFreeBytes: 4 * MB, fileBytes: 100 * MB, leafBytes: 60 * MB, sharedTablespace: false })).toEqual({
      freeBytes: 40 * MB,
      fragmentationPercent: 40,
      basis: 'leaf-pages',
    });
  });

  it('uses file − data − index without leaf pages', () => {
    // 1,000,000 − 600,000 − 150,000 = 250,000 → 25 %.
    const expected = { freeBytes: 250_000, fragmentationPercent: 25, basis: 'file-size' };
    expect(estimateFreeSpace({ dataBytes: 600_000, indexBytes: 150_000, dataFreeBytes: 100_000, fileBytes: 1_000_000, sharedTablespace: false })).toEqual(expected);
    // leafBytes 0 (no statistics rows) counts as unknown.
    expect(estimateFreeSpace({ dataBytes: 600_000, indexBytes: 150_000, dataFreeBytes: 100_000, fileBytes: 1_000_000, leafBytes: 0, sharedTablespace: false })).toEqual(expected);
  });

  it('takes DATA_FREE when it is larger than the other estimate', () => {
    // file-size: 1,000,000 − 500,000 − 400,000 = 100,000 < DATA_FREE 300,000 → 30 %.
    expect(estimateFreeSpace({ dataBytes: 500_000, indexBytes: 400_000, dataFreeBytes: 300_000, fileBytes: 1_000_000, sharedTablespace: false })).toEqual({
      freeBytes: 300_000,
      fragmentationPercent: 30,
      basis: 'file-size',
    });
    // leaf-pages: 1,000,000 − 900,000 = 100,000 < DATA_FREE 200,000 → 20 %.
    expect(estimateFreeSpace({ dataBytes: 0, indexBytes: 0, dataFreeBytes: 200_000, fileBytes: 1_000_000, leafBytes: 900_000, sharedTablespace: false })).toEqual({
      freeBytes: 200_000,
      fragmentationPercent: 20,
      basis: 'leaf-pages',
    });
  });

  it('never goes below zero when data + index exceed the file', () => {
    expect(estimateFreeSpace({ dataBytes: 800_000, indexBytes: 400_000, dataFreeBytes: 0, fileBytes: 1_000_000, sharedTablespace: false })).toEqual({
      freeBytes: 0,
      fragmentationPercent: 0,
      basis: 'file-size',
    });
  });

  it('falls back to DATA_FREE / (data + index + free) without a file', () => {
    // 200 / (600 + 200 + 200) = 20 %.
    expect(estimateFreeSpace({ dataBytes: 600, indexBytes: 200, dataFreeBytes: 200, sharedTablespace: false })).toEqual({
      freeBytes: 200,
      fragmentationPercent: 20,
      basis: 'data-free',
    });
    // A zero-byte file size is as good as unknown.
    expect(estimateFreeSpace({ dataBytes: 600, indexBytes: 200, dataFreeBytes: 200, fileBytes: 0, sharedTablespace: false })).toEqual({
      freeBytes: 200,
      fragmentationPercent: 20,
      basis: 'data-free',
    });
  });

  it('is 0 % for an empty table', () => {
    expect(estimateFreeSpace({ dataBytes: 0, indexBytes: 0, dataFreeBytes: 0, sharedTablespace: false })).toEqual({
      freeBytes: 0,
      fragmentationPercent: 0,
      basis: 'data-free',
    });
  });

  it('rounds the percentage to 2 decimals and caps it at 100', () => {
    // 1 / 3 = 33.333… → 33.33; 2 / 3 = 66.666… → 66.67.
    expect(estimateFreeSpace({ dataBytes: 2, indexBytes: 0, dataFreeBytes: 1, sharedTablespace: false }).fragmentationPercent).toBe(33.33);
    expect(estimateFreeSpace({ dataBytes: 1, indexBytes: 0, dataFreeBytes: 2, sharedTablespace: false }).fragmentationPercent).toBe(66.67);
    // 1,000,000 − 876,543 = 123,457 of 1,000,000 = 12.3457 % → 12.35.
    expect(estimateFreeSpace({ dataBytes: 0, indexBytes: 0, dataFreeBytes: 0, fileBytes: 1_000_000, leafBytes: 876_543, sharedTablespace: false }).fragmentationPercent).toBe(12.35);
    // DATA_FREE five times the file: 500 % capped to 100.
    const capped = estimateFreeSpace({ dataBytes: 0, indexBytes: 0, dataFreeBytes: 5_000, fileBytes: 1_000, sharedTablespace: false });
    expect(capped.fragmentationPercent).toBe(100);
    expect(capped.basis).toBe('file-size');
  });
});

describe('metadata locks: blockingHolders and describeHolder', () => {
  const holder = (threadId: number, command: string | null, seconds: number | null, transactionSeconds: number | null): LockHolder => ({
    threadId,
    lockType: 'SHARED_READ',
    command,
    seconds,
    transactionSeconds,
  });

  it('counts an idle holder (Sleep, transaction still open) as blocking', () => {
    const idle = holder(1, 'Sleep', 0, null);
    expect(blockingHolders([idle], 60)).toEqual([idle]);
  });

  it('lets a query that has just started pass', () => {
    expect(blockingHolders([holder(2, 'Query', 0, null)], 10)).toEqual([]);
    expect(blockingHolders([holder(3, 'Query', 9, 9)], 10)).toEqual([]);
    // A holder that has gone from the processlist has no activity to wait for.
    expect(blockingHolders([holder(4, null, null, null)], 10)).toEqual([]);
  });

  it('blocks on a query running at least the window', () => {
    const longQuery = holder(5, 'Query', 30, null);
    const atWindow = holder(6, 'Query', 10, null);
    expect(blockingHolders([longQuery, atWindow, holder(7, 'Query', 1, null)], 10).map((h) => h.threadId)).toEqual([5, 6]);
  });

  it('blocks on a transaction older than the window even while its current statement is young', () => {
    const oldTrx = holder(8, 'Query', 1, 600);
    expect(blockingHolders([holder(9, 'Query', 1, 2), oldTrx], 60)).toEqual([oldTrx]);
  });

  it('describes a holder', () => {
    expect(describeHolder(holder(42, 'Sleep', 12, 30))).toBe('thread 42 (SHARED_READ, Sleep 12 s, transaction open 30 s)');
    expect(describeHolder(holder(43, 'Query', 0, 0))).toBe('thread 43 (SHARED_READ, Query 0 s, transaction open 0 s)');
    expect(describeHolder({ threadId: 7, lockType: 'MDL_SHARED_WRITE', command: null, seconds: null, transactionSeconds: null })).toBe(
      'thread 7 (MDL_SHARED_WRITE, gone ? s)',
    );
  });
});

describe('optimize: selectForOptimize', () => {
  function tableSize(table: string, totalMb: number, freeMb: number, fragmentationPercent: number | null, schema = 'app'): TableSize {
    const totalBytes = totalMb * MB;
    const freeBytes = freeMb * MB;
    return {
      schema,
      table,
      engine: 'InnoDB',
      rowsEstimate: 1000,
      dataBytes: totalBytes - freeBytes,
      indexBytes: 0,
      dataFreeBytes: 0,
      fileBytes: totalBytes,
      totalBytes,
      freeBytes,
      fragmentationPercent,
      fragmentationBasis: 'leaf-pages',
      sharedTablespace: false,
      indexCount: 1,
      hasFulltextOrSpatial: false,
      statsUpdatedAt: null,
      statsStale: false,
    };
  }

  function options(over: Partial<OptimizeOptions> = {}): OptimizeOptions {
    return {
      schemas: ['app'],
      excludeTables: [],
      fragmentationPercent: 30,
      minSizeMb: 100,
      force: false,
      dryRun: false,
      settings: optimizeSettingsSchema.parse({}),
      ...over,
      now: new Date(),
    };
  }

  const names = (reqs: { size: TableSize }[]): string[] => reqs.map((r) => `${r.size.schema}.${r.size.table}`);

  it('needs both thresholds, inclusive, and never picks an unknown fragmentation', () => {
    const sizes = [
      tableSize('both', 200, 80, 40),
      tableSize('too_small', 50, 45, 90),
      tableSize('not_fragmented', 500, 50, 10),
      tableSize('at_thresholds', 100, 30, 30),
      tableSize('unknown', 1000, 900, null),
      tableSize('just_below', 100, 29, 29.99),
    ];
    const chosen = selectForOptimize(sizes, options());
    expect(names(chosen)).toEqual(['app.both', 'app.at_thresholds']);
    expect(chosen[0]!.reason).toBe('40% free (80 MB of 200 MB, leaf-pages)');
    // The size threshold is in MiB: one byte short of 100 MiB is not big enough.
    const almost = { ...tableSize('almost', 100, 50, 50), totalBytes: 100 * MB - 1 };
    expect(selectForOptimize([almost], options())).toEqual([]);
  });

  it('puts the largest reclaimable space first', () => {
    const sizes = [tableSize('a', 200, 70, 35), tableSize('b', 1000, 700, 70), tableSize('c', 300, 150, 50)];
    expect(names(selectForOptimize(sizes, options()))).toEqual(['app.b', 'app.c', 'app.a']);
  });

  it('chooses at most maxTablesPerRun tables, the largest gains', () => {
    const sizes = [tableSize('a', 200, 70, 35), tableSize('b', 1000, 700, 70), tableSize('c', 300, 150, 50)];
    const settings = optimizeSettingsSchema.parse({ maxTablesPerRun: 2 });
    expect(settings.maxTablesPerRun).toBe(2);
    expect(names(selectForOptimize(sizes, options({ settings })))).toEqual(['app.b', 'app.c']);
    expect(optimizeSettingsSchema.parse({}).maxTablesPerRun).toBe(50);
  });

  it('honours excludeTables when no tables are named', () => {
    const sizes = [tableSize('a', 200, 100, 50), tableSize('b', 200, 90, 45), tableSize('b', 200, 80, 40, 'other')];
    // A bare table name excludes it in every schema; a qualified one only in its schema.
    expect(names(selectForOptimize(sizes, options({ excludeTables: [{ table: 'a' }] })))).toEqual(['app.b', 'other.b']);
    expect(names(selectForOptimize(sizes, options({ excludeTables: [{ schema: 'other', table: 'b' }] })))).toEqual(['app.a', 'app.b']);
    // Named tables take precedence over the exclusions.
    expect(names(selectForOptimize(sizes, options({ tables: [{ table: 'a' }], excludeTables: [{ table: 'a' }] })))).toEqual(['app.a']);
  });

  it('restricts the choice to the named tables, thresholds still applying', () => {
    const sizes = [tableSize('a', 200, 100, 50), tableSize('b', 200, 90, 45), tableSize('b', 200, 80, 40, 'other'), tableSize('small', 10, 9, 90)];
    expect(names(selectForOptimize(sizes, options({ tables: [{ schema: 'app', table: 'b' }] })))).toEqual(['app.b']);
    expect(names(selectForOptimize(sizes, options({ tables: [{ table: 'b' }] })))).toEqual(['app.b', 'other.b']);
    expect(selectForOptimize(sizes, options({ tables: [{ table: 'small' }] }))).toEqual([]);
  });

  it('with force and named tables chooses them below the thresholds, saying forced', () => {
    const sizes = [tableSize('a', 200, 100, 50), tableSize('small', 10, 1, 10), tableSize('unknown', 10, 0, null)];
    const chosen = selectForOptimize(sizes, options({ force: true, tables: [{ table: 'small' }, { table: 'unknown' }] }));
    expect(names(chosen)).toEqual(['app.small', 'app.unknown']);
    expect(chosen[0]!.reason).toBe('forced; 10% free (1 MB of 10 MB, leaf-pages)');
    expect(chosen[1]!.reason).toMatch(/^forced; \?% free/);
    // force without named tables changes nothing.
    expect(names(selectForOptimize(sizes, options({ force: true })))).toEqual(['app.a']);
  });
});

describe('stale statistics', () => {
  it('uses only DATA_FREE when the statistics describe another row count', () => {
    const est = estimateFreeSpace({ dataBytes: 16384, indexBytes: 0, dataFreeBytes: 1_048_576, fileBytes: 10_485_760, leafBytes: 16384, sharedTablespace: false, statsStale: true });
    expect(est).toEqual({ freeBytes: 1_048_576, fragmentationPercent: 10, basis: 'stale-statistics' });
  });

  it('calls statistics stale when rows moved by more than 10% and more than 100 rows', () => {
    expect(statisticsStale(3226, 0)).toBe(true);
    expect(statisticsStale(1000, 1090)).toBe(false); // 8%
    expect(statisticsStale(1000, 1200)).toBe(true); // 200 of 1200 > 10%
    expect(statisticsStale(50, 0)).toBe(false); // tiny tables: noise
    expect(statisticsStale(5000, undefined)).toBe(false); // no statistics: other figures apply
  });
});

describe('history: schemaTotals', () => {
  const size = (schema: string, table: string, totalBytes: number): TableSize => ({
    schema, table, engine: 'InnoDB', rowsEstimate: 10, dataBytes: totalBytes, indexBytes: 0, dataFreeBytes: 0, fileBytes: totalBytes, totalBytes,
    freeBytes: 0, fragmentationPercent: 0, fragmentationBasis: 'leaf-pages', sharedTablespace: false, indexCount: 1, hasFulltextOrSpatial: false,
    statsUpdatedAt: null, statsStale: false,
  });

  it('groups the tables in one pass: each table read once, not once per schema', () => {
    const schemas = Array.from({ length: 40 }, (_, i) => `s${i}`);
    const tables = schemas.flatMap((s, i) => [size(s, 'a', 100 + i), size(s, 'b', 50)]);
    let reads = 0;
    const counted = new Proxy(tables, {
      get(target, prop, receiver) {
        if (typeof prop === 'string' && /^\d+$/.test(prop)) reads++;
        return Reflect.get(target, prop, receiver) as unknown;
      },
    });
    const totals = schemaTotals([...schemas, 'empty'], counted);
    expect(totals[7]).toEqual({ schema: 's7', tableCount: 2, rowsEstimate: 20, dataBytes: 157, indexBytes: 0, freeBytes: 0, totalBytes: 157 });
    expect(totals[40]).toEqual({ schema: 'empty', tableCount: 0, rowsEstimate: 0, dataBytes: 0, indexBytes: 0, freeBytes: 0, totalBytes: 0 });
    // One filter per schema read all 80 tables 41 times.
    expect(reads).toBe(tables.length);
  });
});
