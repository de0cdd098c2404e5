// bench:purge's check of issue #3's targets: speed round by round (met in most rounds), latency by a rank test over the rounds.
import { describe, expect, it } from 'vitest';
import type { LoadStats } from '../bench/foreground-load';
import { targetVerdict, type Outcome, type RunFigures } from '../bench/target-verdict';

const load = (p99: number, max: number): LoadStats => ({ ops: 100, errors: 0, p50: 1, p99, p999: p99, max, slowest: [] });

function row(table: string, mode: Outcome['mode'], contender: string, runs: readonly RunFigures[], extra: Partial<Outcome> = {}): Outcome {
  const seconds = [...runs.map((r) => r.seconds)].sort((a, b) => a - b)[Math.floor(runs.length / 2)]!;
  const p99s = runs.flatMap((r) => (r.p99 === undefined ? [] : [r.p99]));
  const maxes = runs.flatMap((r) => (r.max === undefined ? [] : [r.max]));
  return {
    table,
    mode,
    contender,
    seconds,
    rows: 500_000,
    ok: true,
    check: 'ok',
    runs,
    ...(p99s.length > 0 ? { load: load(Math.max(...p99s), Math.max(...maxes)) } : {}),
    ...extra,
  };
}

const secs = (...xs: number[]): RunFigures[] => xs.map((seconds) => ({ seconds }));

/** The verdict's line for `target` on `table`: [target, table, measured, rounds met, met]. */
function line(verdict: string[][], target: string, table = 'events'): string[] | undefined {
  return verdict.find((v) => v[0]!.startsWith(target) && v[1] === table);
}

describe('targetVerdict', () => {
  it('judges the idle target round by round: met in 3 of 5 rounds is met', () => {
    const v = targetVerdict([
      row('events', 'idle', 'single DELETE (floor)', secs(1.0, 1.0, 1.0, 1.0, 1.0)),
      row('events', 'idle', 'dbmaint purge', secs(1.4, 1.6, 1.5, 1.7, 1.3)),
    ]);
    expect(line(v, 'idle')).toEqual(['idle: dbmaint ≤ 1.5× the single DELETE', 'events', '1.50×', '3 of 5', 'yes']);
  });

  it('compares each round with the same round, not medians with medians', () => {
    // The medians (0.8 vs 2.0 s) would pass; round by round dbmaint is above 1.5× in 3 of 5 rounds.
    const v = targetVerdict([
      row('events', 'idle', 'single DELETE (floor)', secs(0.5, 0.5, 2, 2, 2)),
      row('events', 'idle', 'dbmaint purge', secs(0.8, 0.8, 3.1, 0.1, 0.1)),
    ]);
    expect(line(v, 'idle')?.slice(2)).toEqual(['0.40×', '2 of 5', 'NO']);
  });

  it('a tie in an even number of rounds is not met', () => {
    const v = targetVerdict([
      row('events', 'idle', 'single DELETE (floor)', secs(1.0, 1.0)),
      row('events', 'idle', 'dbmaint purge', secs(1.2, 1.8)),
    ]);
    expect(line(v, 'idle')?.slice(3)).toEqual(['1 of 2', 'NO']);
  });

  it('a failed dbmaint row fails its target whatever its times', () => {
    const v = targetVerdict([
      row('events', 'idle', 'single DELETE (floor)', secs(1.0)),
      row('events', 'idle', 'dbmaint purge', secs(1.1), { ok: false }),
    ]);
    expect(line(v, 'idle')?.slice(3)).toEqual(['1 of 1', 'NO']);
  });

  it('judges the load targets on each round’s time, p99 and max', () => {
    const v = targetVerdict([
      row('sessions', 'load', 'dbmaint purge', [
        { seconds: 5, p99: 4.5, max: 12 },
        { seconds: 5, p99: 5.5, max: 9 },
        { seconds: 7, p99: 4.0, max: 20 },
      ]),
      row('sessions', 'load', 'pt-archiver --bulk-delete', [
        { seconds: 6, p99: 5.0, max: 10 },
        { seconds: 6, p99: 5.0, max: 10 },
        { seconds: 6, p99: 5.0, max: 10 },
      ]),
    ]);
    expect(line(v, 'load: dbmaint faster', 'sessions')?.slice(3)).toEqual(['2 of 3', 'yes']);
    // Three rounds cannot show dbmaint worse (the smallest one-sided p of 3 against 3 is 1/20): no verdict.
    expect(line(v, 'load: foreground p99', 'sessions')?.slice(3)).toEqual(['2 of 3; larger in 33% of pairs, p 0.800', 'too few rounds']);
    expect(line(v, 'load: foreground max', 'sessions')?.slice(3)).toEqual(['1 of 3; larger in 67% of pairs, p 0.350', 'too few rounds']);
  });

  const latencyRun = (maxes: readonly number[], ptMaxes: readonly number[]) =>
    targetVerdict([
      row('sessions', 'load', 'dbmaint purge', maxes.map((max) => ({ seconds: 5, p99: 4, max }))),
      row('sessions', 'load', 'pt-archiver --bulk-delete', ptMaxes.map((max) => ({ seconds: 6, p99: 4, max }))),
    ]);

  it('fails a latency target when the rounds show dbmaint worse beyond chance (run -26n: 0 of 5 rounds)', () => {
    const v = latencyRun([15.71, 13.73, 17.73, 14.39, 9.33], [10.02, 9.15, 13.58, 9.35, 9.13]);
    expect(line(v, 'load: foreground max', 'sessions')?.slice(2)).toEqual(['17.7 vs 13.6 ms', '0 of 5; larger in 88% of pairs, p 0.028', 'NO']);
  });

  it('meets a latency target when both contenders stall alike, even in a minority of rounds (run -26o)', () => {
    const v = latencyRun([17.16, 8.51, 13.44, 10.56, 9.27], [8.02, 14.54, 7.26, 8.46, 9.64]);
    expect(line(v, 'load: foreground max', 'sessions')?.slice(3)).toEqual(['2 of 5; larger in 76% of pairs, p 0.111', 'yes']);
  });

  it('counts equal p99s of every round as no worse', () => {
    const v = latencyRun([10, 10, 10, 10, 10], [10, 10, 10, 10, 10]);
    expect(line(v, 'load: foreground p99', 'sessions')?.slice(3)).toEqual(['5 of 5; larger in 50% of pairs, p 0.500', 'yes']);
  });

  it('checks the archive target on throughput and on nothing lost', () => {
    const pt = row('events', 'archive', 'pt-archiver --bulk-insert --bulk-delete', secs(9, 9, 9));
    const fast = targetVerdict([row('events', 'archive', 'dbmaint archive', secs(4, 4, 7)), pt]);
    expect(line(fast, 'archive')?.slice(2)).toEqual(['2.25×, nothing lost', '2 of 3', 'yes']);
    const lost = targetVerdict([row('events', 'archive', 'dbmaint archive', secs(4, 4, 4), { ok: false }), pt]);
    expect(line(lost, 'archive')?.slice(2)).toEqual(['2.25×, ROWS LOST', '3 of 3', 'NO']);
  });

  it('a single run without rounds is judged on its own figures', () => {
    const v = targetVerdict([
      { table: 'events', mode: 'idle', contender: 'single DELETE (floor)', seconds: 1, rows: 1, ok: true, check: 'ok' },
      { table: 'events', mode: 'idle', contender: 'dbmaint purge', seconds: 1.4, rows: 1, ok: true, check: 'ok' },
    ]);
    expect(line(v, 'idle')?.slice(3)).toEqual(['1 of 1', 'yes']);
  });

  it('lists only the targets whose contenders ran', () => {
    const v = targetVerdict([row('events', 'idle', 'dbmaint purge', secs(1)), row('events', 'load', 'pt-archiver --bulk-delete', secs(1))]);
    expect(v).toEqual([]);
  });
});
