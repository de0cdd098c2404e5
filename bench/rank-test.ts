// Whether one contender's per-round figures are larger than another's beyond chance: an exact Mann–Whitney test.

/**
 * How many of the C(m+n, m) orderings of m and n distinct values give each U (pairs with the first sample's value
 * above the second's): the null distribution, every ordering equally likely.
 */
function uCounts(m: number, n: number): number[] {
  // counts[i][j][u]: samples of sizes i and j. Adding the largest value decides the pairs it wins: all j of them
  // when it belongs to the first sample, none when it belongs to the second.
  let prev: number[][] = Array.from({ length: n + 1 }, () => [1]);
  for (let i = 1; i <= m; i++) {
    const cur: number[][] = [[1]];
    for (let j = 1; j <= n; j++) {
      const out = Array.from({ length: i * j + 1 }, () => 0);
      prev[j]!.forEach((c, u) => {
        out[u + j]! += c;
      });
      cur[j - 1]!.forEach((c, u) => {
        out[u]! += c;
      });
      cur.push(out);
    }
    prev = cur;
  }
  return prev[n]!;
}

export interface RankComparison {
  /** Pairs (a round of `ours`, a round of `theirs`) in which ours is larger, ties counted half: U over m·n. */
  readonly larger: number;
  /** One-sided p: the chance of a U this large or larger if both samples came from the same distribution. */
  readonly p: number;
  /** The smallest p these sample sizes can give (ours all above theirs): 1 / C(m+n, m). */
  readonly minP: number;
}

/**
 * Are `ours` larger than `theirs` beyond chance? Exact for samples without ties. A tie counts half a pair and p is
 * then read from the distribution without ties, an approximation that can err either way (the figures compared are
 * latencies in fractions of a millisecond, where ties are rare). Used for latency figures where one stall decides a
 * round's maximum: a round-by-round majority is a coin toss when both contenders stall alike, while this test says
 * "worse" only when the rounds show it.
 */
export function rankCompare(ours: readonly number[], theirs: readonly number[]): RankComparison {
  const m = ours.length;
  const n = theirs.length;
  if (m === 0 || n === 0) return { larger: 0.5, p: 1, minP: 1 };
  let u = 0;
  for (const x of ours) for (const y of theirs) u += x > y ? 1 : x === y ? 0.5 : 0;
  const counts = uCounts(m, n);
  const total = counts.reduce((a, b) => a + b, 0);
  const atLeast = counts.reduce((sum, c, k) => (k >= u ? sum + c : sum), 0);
  return { larger: u / (m * n), p: atLeast / total, minP: counts[m * n]! / total };
}
