// Seeded pseudo-random numbers for fault injection: fixed seeds plus one random seed per run, replayable.
import { randomInt } from 'node:crypto';
import { mulberry32 } from '../../dev/prng';

export class Rng {
  private readonly next: () => number;
  constructor(readonly seed: number) {
    this.next = mulberry32(seed);
  }
  /** A float in [0, 1). */
  float(): number {
    return this.next();
  }
  /** An integer in [lo, hi], both included. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[Math.floor(this.next() * items.length)]!;
  }
}

/** One independent stream per (seed, fault class, iteration): an iteration replays without the ones before it. */
export function iterationRng(seed: number, faultClass: string, iteration: number): Rng {
  let h = seed >>> 0;
  for (const ch of `${faultClass}#${iteration}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x9e3779b1) >>> 0;
  return new Rng(h ^ (h >>> 16));
}

/** Seeds every run uses, so that CI always covers the same fault points. */
export const FIXED_SEEDS: readonly number[] = [1, 20_240_601, 0x5eed];

export interface FaultSeeds {
  /** The fixed seeds, then this run's seed. */
  readonly seeds: readonly number[];
  /** This run's seed: random, or DBMAINT_FAULT_SEED when set (to replay a failure). */
  readonly runSeed: number;
  readonly replayed: boolean;
}

export function faultSeeds(env: NodeJS.ProcessEnv = process.env): FaultSeeds {
  const fromEnv = env['DBMAINT_FAULT_SEED'];
  if (fromEnv !== undefined && fromEnv !== '') {
    const n = Number(fromEnv);
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Error(`DBMAINT_FAULT_SEED must be an integer 0..4294967295 (got ${fromEnv})`);
    return { seeds: [...FIXED_SEEDS, n], runSeed: n, replayed: true };
  }
  const runSeed = randomInt(0, 2 ** 31);
  return { seeds: [...FIXED_SEEDS, runSeed], runSeed, replayed: false };
}
