// bench:purge pools the foreground latencies of every round before taking percentiles.
import { describe, expect, it } from 'vitest';
import { summarizeLoad } from '../bench/foreground-load';

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('summarizeLoad', () => {
  it('takes p50, p99, p99.9 and max over the operations of all runs together', () => {
    const s = summarizeLoad([
      { latencies: range(1001, 2000), errors: 1, slowest: [{ at: 2, ms: 2000, kind: 'read' }] },
      { latencies: range(1, 1000), errors: 2, slowest: [{ at: 1, ms: 1000, kind: 'update' }] },
    ]);
    expect(s).toMatchObject({ ops: 2000, errors: 3, p50: 1001, p99: 1981, p999: 1999, max: 2000 });
    expect(s.slowest.map((x) => x.ms)).toEqual([2000, 1000]);
  });

  it('is all zeros without operations', () => {
    expect(summarizeLoad([])).toMatchObject({ ops: 0, p50: 0, p99: 0, p999: 0, max: 0 });
  });
});
