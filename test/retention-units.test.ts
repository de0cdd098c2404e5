// Pure parts of the retention engine: keyset predicates, chunk sizing, throttling decisions, criteria.
import { describe, expect, it } from 'vitest';
import { rulePredicate } from '../lib/retention/criteria';
import { ChunkSizer } from '../lib/retention/chunk-size';
import { chunkSizing } from '../lib/retention/row-bytes';
import { lockName } from '../lib/retention/engine';
import { and, keyAfter, keyAtMost, TRUE_PART } from '../lib/retention/keyset';
import { RestBudget } from '../lib/retention/nice';
import { replicaLagFromStatus, Throttle, type LoadProbe } from '../lib/retention/throttle';
import { Deadline } from '../lib/runtime/deadline';
import { silentLog } from '../lib/runtime/log';

describe('keyset predicates', () => {
  it('spells out row comparisons with a leading range term', () => {
    expect(keyAfter(['id'], [5])).toEqual({ sql: '`id` >= ? AND `id` > ?', params: [5, 5] });
    expect(keyAfter(['a', 'b'], [1, 2])).toEqual({ sql: '`a` >= ? AND (`a` > ? OR (`a` = ? AND `b` > ?))', params: [1, 1, 1, 2] });
    expect(keyAtMost(['a', 'b', 'c'], [1, 2, 3])).toEqual({
      sql: '`a` <= ? AND (`a` < ? OR (`a` = ? AND (`b` < ? OR (`b` = ? AND `c` <= ?))))',
      params: [1, 1, 1, 2, 2, 3],
    });
    expect(() => keyAfter(['a', 'b'], [1])).toThrow(/differ in length/);
  });
  it('combines parts and quotes hostile column names', () => {
    expect(and(TRUE_PART, TRUE_PART)).toBe(TRUE_PART);
    expect(and(keyAfter(['x`y'], [1]), TRUE_PART).sql).toBe('(`x``y` >= ? AND `x``y` > ?)');
  });
  it('binds the cutoff and extra criteria as parameters, never as text', () => {
    const cutoff = new Date('2026-01-01T00:00:00Z');
    const p = rulePredicate({ column: 'created_at', kind: 'datetime' }, cutoff, [
      { column: 'is_read', op: '=', value: 1 },
      { column: 'kind', op: 'NOT IN', value: ["a'; DROP TABLE x; --", 'b'] },
      { column: 'deleted_at', op: 'IS NOT NULL' },
    ]);
    expect(p.sql).toBe('(`created_at` < ?) AND (`is_read` = ?) AND (`kind` NOT IN (?, ?)) AND (`deleted_at` IS NOT NULL)');
    expect(p.params).toEqual([cutoff, 1, "a'; DROP TABLE x; --", 'b']);
  });
});

describe('chunk sizing', () => {
  const opts = { targetSeconds: 0.5, contendedSeconds: 0.02, initialRows: 1000, minRows: 100, maxRows: 100_000 };
  it('grows towards the target time, at most x4 a step, within bounds', () => {
    const s = new ChunkSizer(opts);
    expect(s.next).toBe(1000);
    s.observe(1000, 0.005); // 200k rows/s: ideal 100k
    expect(s.next).toBe(4000);
    s.observe(4000, 0.02);
    expect(s.next).toBe(16_000);
    for (let i = 0; i < 5; i++) s.observe(s.next, s.next / 200_000);
    expect(s.next).toBe(100_000);
  });
  it('drops to the contended target at once and recovers only after a second of clean chunks', () => {
    const s = new ChunkSizer(opts);
    for (let i = 0; i < 6; i++) s.observe(s.next, s.next / 200_000);
    expect(s.next).toBe(100_000);
    s.observe(s.next, 0.5, true);
    expect(s.targetSeconds).toBe(0.02);
    expect(s.next).toBe(4000); // 200k rows/s x 20 ms
    for (let i = 0; i < 49; i++) s.observe(s.next, 0.02);
    expect(s.targetSeconds).toBe(0.02); // 0.98 s of clean chunks is not enough
    s.observe(s.next, 0.02);
    expect(s.targetSeconds).toBe(0.04);
    s.observe(s.next, 0.02, true); // contention resets the quiet time
    for (let i = 0; i < 49; i++) s.observe(s.next, 0.02);
    expect(s.targetSeconds).toBe(0.02);
  });
  it('counts quiet time of chunks not sampled, but grows again only on a sample that shows no contention', () => {
    const s = new ChunkSizer(opts);
    s.observe(s.next, 0.01, true);
    expect(s.contended).toBe(true);
    for (let i = 0; i < 60; i++) s.observe(s.next, 0.02, 'unsampled'); // 1.2 s, never asked
    expect(s.targetSeconds).toBe(0.02);
    s.observe(s.next, 0.02, true); // the sample covering them saw contention: their quiet time is void
    for (let i = 0; i < 49; i++) s.observe(s.next, 0.02, 'unsampled');
    s.observe(s.next, 0.02, false);
    expect(s.targetSeconds).toBe(0.04);
  });
  it('starts small when the application was writing before the first chunk', () => {
    const s = new ChunkSizer({ ...opts, initialRows: 5000 });
    s.startContended();
    expect(s.next).toBe(500);
    expect(s.targetSeconds).toBe(0.02);
  });
  it('forecasts the chunk after the current one: x4 before any rate, then the rate at the target', () => {
    const s = new ChunkSizer(opts);
    expect(s.forecast()).toBe(4000); // no rate yet: the largest step
    s.observe(1000, 0.005); // 200k rows/s; next 4000
    expect(s.forecast()).toBe(16_000); // growth still capped at x4
    for (let i = 0; i < 6; i++) s.observe(s.next, s.next / 200_000);
    expect(s.forecast()).toBe(100_000); // 200k rows/s x 0.5 s, at the maximum
    s.observe(s.next, 0.5, true); // contended: 20 ms at 200k rows/s
    expect(s.forecast()).toBe(s.next);
  });
  it('halves after a lock conflict, never below the minimum', () => {
    const s = new ChunkSizer({ ...opts, initialRows: 300 });
    s.shrink();
    expect(s.next).toBe(150);
    s.shrink();
    expect(s.next).toBe(100);
  });
});


describe('chunks bounded in bytes', () => {
  const opts = { targetSeconds: 0.5, contendedSeconds: 0.02, initialRows: 5000, minRows: 100, maxRows: 250_000 };
  it('caps the first chunk and every later one at maxBytes / rowBytes, below minRows too (then shrinking to one row)', () => {
    const s = new ChunkSizer({ ...opts, maxBytes: 16 * 1024 * 1024, rowBytes: 1_000_000 });
    expect([s.next, s.minRows, s.maxRows]).toEqual([16, 1, 16]);
    s.observe(16, 0.01); // fast: would grow x4
    expect(s.next).toBe(16);
    s.shrink();
    expect(s.next).toBe(8);
    s.startContended();
    expect(s.next).toBe(1); // a tenth, at least one row
    s.shrink();
    expect(s.next).toBe(1);
    for (let i = 0; i < 20; i++) s.observe(s.next, 0.001);
    expect(s.next).toBeLessThanOrEqual(16);
  });
  it('leaves the rows bounds alone when rows are small, or their size is unknown', () => {
    expect(new ChunkSizer({ ...opts, maxBytes: 16 * 1024 * 1024, rowBytes: 100 }).maxRows).toBe(167_772);
    expect(new ChunkSizer({ ...opts, maxBytes: 16 * 1024 * 1024 }).maxRows).toBe(250_000);
  });
  it('says why the first chunk has its size', () => {
    const rows = { initialRows: 5000, minRows: 100, maxRows: 250_000 };
    const big = chunkSizing(rows, 16 * 1024 * 1024, { rowBytes: 1_000_030, sampledBytes: 1_000_030, sampledRows: 10, statisticsBytes: 64_337 });
    expect(big).toMatchObject({ firstChunkRows: 16, maxChunkRows: 16, rowBytes: 1_000_030 });
    expect(big.reason).toBe(
      'first chunk 16 rows, not purge.initialChunkRows 5,000: ~976.6 KiB a row (976.6 KiB in the first 10 rows of the walk, 62.8 KiB by table statistics; the larger counts), and purge.maxChunkBytes 16.0 MiB allows 16 rows a chunk',
    );
    const small = chunkSizing(rows, 16 * 1024 * 1024, { rowBytes: 120, sampledBytes: 80, sampledRows: 10, statisticsBytes: 120 });
    expect(small).toMatchObject({ firstChunkRows: 5000, maxChunkRows: 139_810 });
    expect(small.reason).toMatch(/^first chunk 5,000 rows \(purge\.initialChunkRows\); ~120 B a row .*: purge\.maxChunkBytes 16\.0 MiB allows 139,810 rows a chunk \(the cap on every chunk\)$/);
    const unknown = chunkSizing(rows, 16 * 1024 * 1024, { rowBytes: null, sampledBytes: null, sampledRows: 0, statisticsBytes: null });
    expect(unknown).toMatchObject({ firstChunkRows: 5000, maxChunkRows: 250_000 });
    expect(unknown.reason).toMatch(/row size unknown/);
  });
});
describe('rest between contended chunks (nice ratio)', () => {
  it('owes a fraction of each chunk and asks for it in whole milliseconds, crediting oversleep', () => {
    const r = new RestBudget(0.05);
    r.owe(0.005); // 0.25 ms
    expect(r.dueMs()).toBe(0);
    for (let i = 0; i < 3; i++) r.owe(0.005);
    expect(r.dueMs()).toBe(1); // 1.0 ms owed
    r.paid(1.3); // the timer overslept
    for (let i = 0; i < 4; i++) r.owe(0.005);
    expect(r.dueMs()).toBe(0); // 0.7 ms owed
    r.owe(0.1);
    expect(r.dueMs()).toBe(5); // 5.7 ms owed
  });
  it('never rests with a ratio of 0', () => {
    const r = new RestBudget(0);
    r.owe(10);
    expect(r.dueMs()).toBe(0);
  });
});

describe('throttle', () => {
  it('waits while a probe objects and reports the time', async () => {
    let calls = 0;
    const probe: LoadProbe = { check: async () => (++calls < 4 ? 'busy' : undefined) };
    const t = new Throttle([probe], silentLog, 10);
    const r = await t.wait(Deadline.unlimited(), 0);
    expect(r.stopped).toBe(false);
    expect(calls).toBe(4);
    expect(t.throttledSeconds).toBeGreaterThan(0.02);
  });
  it('gives up at the deadline', async () => {
    const t = new Throttle([{ check: async () => 'busy' }], silentLog, 10);
    const r = await t.wait(new Deadline(Date.now() + 50), 0);
    expect(r.stopped).toBe(true);
  });
  it('reads replica lag from MySQL 8 and MariaDB status rows', () => {
    expect(replicaLagFromStatus(undefined)).toBeUndefined();
    expect(replicaLagFromStatus({ Seconds_Behind_Source: 12 })).toBe(12);
    expect(replicaLagFromStatus({ Seconds_Behind_Master: '3' })).toBe(3);
    expect(replicaLagFromStatus({ Seconds_Behind_Master: null })).toBeNull();
  });
  it('keeps lock names within 64 characters', () => {
    expect(lockName('app', 'events')).toBe('dbmaint:purge:app.events');
    expect(lockName('s'.repeat(64), 't'.repeat(64)).length).toBeLessThanOrEqual(64);
  });
});
