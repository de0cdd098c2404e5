// The order in which a round runs its contenders: a design balanced for position and for predecessor.

/**
 * Row `k` of a Williams square of order `n`: 0, 1, n-1, 2, n-2, … shifted by `k`. Over rows 0…n-1 every item
 * holds every position once; for even `n` every item also follows every other item exactly once.
 */
function williamsRow(n: number, k: number): number[] {
  const base = Array.from({ length: n }, (_, i) => (i % 2 === 1 ? (i + 1) / 2 : i === 0 ? 0 : n - i / 2));
  return base.map((x) => (x + k) % n);
}

/**
 * Round `round` of `items`. Whatever a run leaves behind on the server despite the restore between runs (a
 * 500k-row single DELETE is the heaviest) lands on the run after it, so no contender may always run behind the same
 * one: a plain rotation does exactly that (measured: dbmaint, always right behind the single DELETE, saw larger
 * foreground maxima than the same code run behind dbmaint). Rounds follow a Williams design instead: over a cycle
 * of n rounds (2n for odd n, a square and its mirror image interleaved) each contender runs first, second, … equally
 * often and follows every other contender equally often. A run shorter than a cycle is balanced only in part (5 rounds of
 * 5 contenders: each follows at most two others twice, and positions are not all equal).
 * A contender that needs another's run of the same round (`after`: the bare replay needs dbmaint's chunk bounds)
 * stays right behind it, and the pair counts as one.
 */
export function roundOrder<T>(items: readonly T[], round: number, after: ReadonlyMap<T, T> = new Map()): T[] {
  const units = unitsOf(items, after);
  const n = units.length;
  if (n === 0) return [];
  const r = ((round % (2 * n)) + 2 * n) % (2 * n);
  const row = n % 2 === 0 ? williamsRow(n, r % n) : r % 2 === 0 ? williamsRow(n, r / 2) : williamsRow(n, (r - 1) / 2).reverse();
  return row.flatMap((i) => units[i]!);
}

/** Rounds in one full cycle of the design for these contenders: after it, every position and predecessor is balanced. */
export function roundsPerCycle<T>(items: readonly T[], after: ReadonlyMap<T, T> = new Map()): number {
  const n = unitsOf(items, after).length;
  return n % 2 === 0 ? n : 2 * n;
}

/** The contenders as the design orders them: each with the followers that run right behind it. */
function unitsOf<T>(items: readonly T[], after: ReadonlyMap<T, T>): T[][] {
  const followers = new Set([...after.keys()].filter((f) => items.includes(f) && items.includes(after.get(f)!)));
  // One level only: a follower's leader leads a unit of its own.
  for (const f of followers) if (followers.has(after.get(f)!)) throw new Error('roundOrder: a follower cannot itself follow another contender');
  return items.filter((x) => !followers.has(x)).map((x) => [x, ...[...followers].filter((f) => after.get(f) === x)]);
}
