// The order in which a round runs its contenders: rotated from round to round, so that no contender always runs first.

/**
 * Round `round` of `items`: the list rotated by `round` places. A contender that needs another's run of the same
 * round (`after`: the bare replay needs dbmaint's chunk bounds) stays right behind it, and the pair rotates as one.
 * Each contender then runs first, second, … about equally often over the rounds, and whatever the previous run
 * leaves behind on the server (a purge backlog, flushed pages) lands on every contender alike.
 */
export function roundOrder<T>(items: readonly T[], round: number, after: ReadonlyMap<T, T> = new Map()): T[] {
  const followers = new Set([...after.keys()].filter((f) => items.includes(f) && items.includes(after.get(f)!)));
  const units = items.filter((x) => !followers.has(x)).map((x) => [x, ...[...followers].filter((f) => after.get(f) === x)]);
  const k = units.length === 0 ? 0 : ((round % units.length) + units.length) % units.length;
  return [...units.slice(k), ...units.slice(0, k)].flat();
}
