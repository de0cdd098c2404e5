// bench:purge's result rows and the check of issue #3's targets on them, round by round.
import type { LoadStats } from './foreground-load';
import { rankCompare } from './rank-test';

export interface Outcome {
  readonly table: string;
  readonly mode: 'idle' | 'load' | 'archive';
  readonly contender: string;
  readonly seconds: number;
  /**
   * Without a foreground load: seconds from the start until InnoDB's purge has removed every row the contender
   * delete-marked (history list empty). A single DELETE commits once, so all of its purge comes after it.
   */
  readonly purgedSeconds?: number;
  readonly rows: number;
  readonly ok: boolean;
  readonly check: string;
  readonly load?: LoadStats;
  readonly note?: string;
  /** Each round's own figures, in round order. */
  readonly runs?: readonly RunFigures[];
}

export interface RunFigures {
  readonly seconds: number;
  readonly p99?: number;
  readonly p999?: number;
  readonly max?: number;
}

/** The row of a table and mode whose contender's name starts with `prefix`. */
export function rowOf(results: readonly Outcome[], table: string, mode: string, prefix: string): Outcome | undefined {
  return results.find((r) => r.table === table && r.mode === mode && r.contender.startsWith(prefix));
}

/** The significance below which a latency target's rounds show dbmaint worse than pt-archiver. */
export const WORSE_P = 0.05;

/**
 * The targets, checked on this run's figures (only those whose contenders ran). Each is checked in every
 * round (the contenders ran side by side in it). The speed targets ("≤ 1.5×", "faster", "≥ 1.5×") are met when they
 * hold in most rounds: a majority of side-by-side rounds is what "one run" means when it is repeated.
 * The latency targets ("no worse than pt-archiver") are met unless dbmaint's per-round figures are larger than
 * pt-archiver's beyond chance (one-sided exact Mann–Whitney test over the rounds, p < WORSE_P). A majority of rounds
 * cannot judge "no worse": when both contenders stall alike (a round's maximum is one stall of this 2-core VM,
 * p99 sits at the same few milliseconds), each round is a coin toss, and "most rounds" fails half the time.
 * The rounds-met count is still shown. The measured column shows the figures over all rounds (median times, pooled
 * p99, worst max).
 */
export function targetVerdict(results: readonly Outcome[]): string[][] {
  const find = (table: string, mode: string, prefix: string) => rowOf(results, table, mode, prefix);
  const out: string[][] = [];
  const row = (target: string, table: string, measured: string, rounds: readonly boolean[], ok = true) => {
    const k = rounds.filter(Boolean).length;
    out.push([target, table, measured, `${k} of ${rounds.length}`, ok && k * 2 > rounds.length ? 'yes' : 'NO']);
  };
  /** A "no worse" latency target: the rounds counted, and judged by the rank test on `figure` (lower is better). */
  const latencyRow = (target: string, table: string, measured: string, a: Outcome, b: Outcome, figure: (x: RunFigures) => number | undefined) => {
    const defined = (xs: readonly RunFigures[]) => xs.flatMap((x) => (figure(x) === undefined ? [] : [figure(x)!]));
    const ours = defined(roundsOf(a));
    const theirs = defined(roundsOf(b));
    const paired = perRound(a, b, (x, y) => figure(x) !== undefined && figure(y) !== undefined && figure(x)! <= figure(y)!);
    const { larger, p, minP } = rankCompare(ours, theirs);
    // With so few rounds that even "dbmaint worse in every pair" would not reach WORSE_P, the test cannot fail: no verdict.
    const testable = minP < WORSE_P;
    out.push([
      target,
      table,
      measured,
      `${paired.filter(Boolean).length} of ${paired.length}; larger in ${Math.round(larger * 100)}% of pairs, p ${p.toFixed(3)}`,
      !testable ? 'too few rounds' : p >= WORSE_P ? 'yes' : 'NO',
    ]);
  };
  /** Per round, whether `holds` for the two rows' runs of that round. */
  const perRound = (a: Outcome, b: Outcome, holds: (x: RunFigures, y: RunFigures) => boolean) => {
    const theirs = roundsOf(b);
    return roundsOf(a)
      .slice(0, theirs.length)
      .map((x, i) => holds(x, theirs[i]!));
  };
  for (const table of [...new Set(results.map((r) => r.table))]) {
    const [floor, ours] = [find(table, 'idle', 'single DELETE'), find(table, 'idle', 'dbmaint purge')];
    if (floor && ours) {
      row('idle: dbmaint ≤ 1.5× the single DELETE', table, `${(ours.seconds / floor.seconds).toFixed(2)}×`, perRound(ours, floor, (x, y) => x.seconds <= 1.5 * y.seconds), ours.ok);
    }
    const [pt, loaded] = [find(table, 'load', 'pt-archiver'), find(table, 'load', 'dbmaint purge')];
    if (pt && loaded) {
      row('load: dbmaint faster than pt-archiver', table, `${loaded.seconds.toFixed(2)} vs ${pt.seconds.toFixed(2)} s`, perRound(loaded, pt, (x, y) => x.seconds < y.seconds), loaded.ok);
      if (pt.load && loaded.load) {
        latencyRow('load: foreground p99 no worse', table, `${loaded.load.p99.toFixed(2)} vs ${pt.load.p99.toFixed(2)} ms`, loaded, pt, (x) => x.p99);
        latencyRow('load: foreground max no worse', table, `${loaded.load.max.toFixed(1)} vs ${pt.load.max.toFixed(1)} ms`, loaded, pt, (x) => x.max);
      }
    }
    const [ptA, oursA] = [find(table, 'archive', 'pt-archiver'), find(table, 'archive', 'dbmaint archive')];
    if (ptA && oursA) {
      row('archive: ≥ 1.5× pt-archiver, nothing lost', table, `${(ptA.seconds / oursA.seconds).toFixed(2)}×, ${oursA.ok ? 'nothing lost' : 'ROWS LOST'}`, perRound(oursA, ptA, (x, y) => y.seconds >= 1.5 * x.seconds), oursA.ok);
    }
  }
  return out;
}

/** A row's figures per round (a single run: that run). */
function roundsOf(r: Outcome): readonly RunFigures[] {
  return r.runs ?? [{ seconds: r.seconds, ...(r.load ? { p99: r.load.p99, max: r.load.max } : {}) }];
}
