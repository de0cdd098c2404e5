// What a function returns is bounded: the most important items of each list, counts of the rest, a size cap.
import { describe, expect, it } from 'vitest';
import { boundRunResult, RESULT_LIST_LIMIT } from '../lib/tasks/bounded-result';
import type { TaskRunResult } from '../lib/tasks/task-module';

function run(result: unknown): TaskRunResult {
  return {
    task: 'analyze-tables',
    target: 't',
    runId: 'r',
    dryRun: false,
    status: 'succeeded',
    startedAt: '2026-12-02T00:00:00.000Z',
    durationSeconds: 1,
    result,
    metrics: Array.from({ length: 30 }, (_, i) => ({ name: `M${i}`, unit: 'Count', value: i })) as unknown as TaskRunResult['metrics'],
  };
}

describe('boundRunResult', () => {
  it('keeps the most important items of a long list first, in their order, and counts the rest', () => {
    const tables = Array.from({ length: 2000 }, (_, i) => ({ table: `t${i}`, action: i % 500 === 7 ? 'failed' : i % 3 === 0 ? 'analyzed' : 'fresh' }));
    const out = boundRunResult(run({ counts: { analyzed: 667 }, tables }));
    const kept = (out.result as { tables: { table: string; action: string }[] }).tables;
    expect(kept).toHaveLength(RESULT_LIST_LIMIT);
    // The four failures first (in their original order), then what was done; nothing that needed nothing.
    expect(kept.slice(0, 4).map((t) => t.table)).toEqual(['t7', 't507', 't1007', 't1507']);
    expect(kept.slice(4).every((t) => t.action === 'analyzed')).toBe(true);
    expect(out.omitted).toEqual({ 'result.tables': 2000 - RESULT_LIST_LIMIT });
    expect((out.result as { counts: unknown }).counts).toEqual({ analyzed: 667 });
  });

  it('leaves short lists and the metric points whole, and adds no omitted field when nothing was cut', () => {
    const r = run({ tables: [{ table: 'a', action: 'fresh' }] });
    const out = boundRunResult(r);
    expect(out).toEqual(r);
    expect(out.metrics).toHaveLength(30);
    expect(out.omitted).toBeUndefined();
  });

  it('cuts nested lists and long strings, counting per list', () => {
    const out = boundRunResult(run({ rules: Array.from({ length: 3 }, () => ({ childTables: Array.from({ length: 15 }, (_, i) => ({ table: `c${i}` })), message: 'x'.repeat(5000) })) }));
    expect(out.omitted).toEqual({ 'result.rules[].childTables': 15, 'result.rules[].message (characters)': 9000 });
    const rules = (out.result as { rules: { childTables: unknown[]; message: string }[] }).rules;
    expect(rules[0]!.childTables).toHaveLength(RESULT_LIST_LIMIT);
    expect(rules[0]!.message.length).toBe(2001);
  });

  it('halves the lists until the JSON fits the byte cap, and drops the task result only as a last resort', () => {
    const big = Array.from({ length: 10 }, (_, i) => ({ table: `t${i}`, detail: 'y'.repeat(1900) }));
    const out = boundRunResult(run({ tables: big }), 10, 8_000);
    expect(Buffer.byteLength(JSON.stringify(out))).toBeLessThanOrEqual(8_000);
    expect((out.result as { tables: unknown[] }).tables.length).toBeLessThan(10);
    const tiny = boundRunResult(run({ note: 'z'.repeat(1900) }), 10, 1_500);
    expect(tiny.result).toBeUndefined();
    expect(tiny.omitted).toMatchObject({ result: 1 });
    expect(tiny.status).toBe('succeeded');
  });
});
