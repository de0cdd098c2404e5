// The exact one-sided Mann–Whitney test bench:purge judges its latency targets with, against a brute-force permutation test.
import { describe, expect, it } from 'vitest';
import { rankCompare } from '../bench/rank-test';

/** Every way of splitting the pooled values into samples of the two sizes: the share whose U passes `keep` (default: at least the observed U). */
function permutationP(a: readonly number[], b: readonly number[], keep?: (u: number, observed: number) => boolean): number {
  const all = [...a, ...b];
  const u = (xs: readonly number[], ys: readonly number[]) => xs.reduce((s, x) => s + ys.reduce((t, y) => t + (x > y ? 1 : x === y ? 0.5 : 0), 0), 0);
  const observed = u(a, b);
  let hits = 0;
  let total = 0;
  const pick = (start: number, chosen: number[]) => {
    if (chosen.length === a.length) {
      const xs = chosen.map((i) => all[i]!);
      const ys = all.filter((_, i) => !chosen.includes(i));
      total++;
      if ((keep ?? ((x, o) => x >= o))(u(xs, ys), observed)) hits++;
      return;
    }
    for (let i = start; i < all.length; i++) pick(i + 1, [...chosen, i]);
  };
  pick(0, []);
  return hits / total;
}

describe('rankCompare', () => {
  it('gives 1/C(10,5) when all five of ours are above all five of theirs', () => {
    const r = rankCompare([6, 7, 8, 9, 10], [1, 2, 3, 4, 5]);
    expect(r.larger).toBe(1);
    expect(r.p).toBeCloseTo(1 / 252, 12);
  });

  it('gives p 1 when all of ours are below theirs', () => {
    expect(rankCompare([1, 2, 3], [4, 5, 6, 7]).p).toBe(1);
  });

  it('agrees with a brute-force permutation test on samples without ties, of equal and unequal sizes', () => {
    const samples: [number[], number[]][] = [
      [[15.7, 13.7, 17.7, 14.4, 9.3], [10.0, 9.2, 13.6, 9.35, 9.1]],
      [[17.2, 8.5, 13.4, 10.6, 9.3], [8.0, 14.5, 7.3, 8.6, 9.6]],
      [[3, 9, 1, 12], [5, 7, 2, 11, 4, 6]],
      [[2.5, 8.1, 4.4, 7.7, 6.3, 1.2, 9.9], [3.3, 5.5, 0.7]],
      [[1], [2]],
    ];
    for (const [a, b] of samples) expect(rankCompare(a, b).p, JSON.stringify([a, b])).toBeCloseTo(permutationP(a, b), 12);
  });

  it('is symmetric: p for ours above theirs plus p for theirs above ours covers every ordering once, and the observed one twice', () => {
    const a = [4.1, 9.2, 6.3, 7.4, 5.5];
    const b = [3.6, 8.7, 2.8, 1.9, 10.1];
    const one = rankCompare(a, b);
    const other = rankCompare(b, a);
    expect(one.larger + other.larger).toBeCloseTo(1, 12);
    // P(U ≥ u) + P(U ≤ u) = 1 + P(U = u), P(U = u) counted by brute force.
    expect(one.p + other.p - 1).toBeCloseTo(permutationP(a, b, (x, o) => x === o), 12);
  });

  it('reports the smallest p the sample sizes allow', () => {
    expect(rankCompare([1, 2, 3], [4, 5, 6]).minP).toBeCloseTo(1 / 20, 12);
    expect(rankCompare([1, 2, 3, 4], [5, 6, 7, 8]).minP).toBeCloseTo(1 / 70, 12);
  });
});
