// How much of its integer type's range each AUTO_INCREMENT column has used.

const SIGNED_MAX: Record<string, bigint> = {
  tinyint: 127n,
  smallint: 32_767n,
  mediumint: 8_388_607n,
  int: 2_147_483_647n,
  integer: 2_147_483_647n,
  bigint: 9_223_372_036_854_775_807n,
};

/** Largest value of an integer column type such as `int(10) unsigned` or `bigint`; undefined for other types. */
export function integerTypeMax(columnType: string): bigint | undefined {
  const m = /^\s*(tinyint|smallint|mediumint|int|integer|bigint)\b/i.exec(columnType);
  if (!m) return undefined;
  const signed = SIGNED_MAX[m[1]!.toLowerCase()]!;
  return /\bunsigned\b/i.test(columnType) ? signed * 2n + 1n : signed;
}

/**
 * Used share of the range, in percent, from the table's next AUTO_INCREMENT value (the largest
 * value handed out is next − 1). BigInt arithmetic: a BIGINT UNSIGNED counter does not fit a double.
 */
export function autoIncrementUsedPercent(columnType: string, nextValue: string | number | bigint | null): number | null {
  const max = integerTypeMax(columnType);
  if (max === undefined || nextValue === null) return null;
  const used = BigInt(nextValue) - 1n;
  if (used <= 0n) return 0;
  // Four decimals of a percent, computed in integers.
  const scaled = (used * 1_000_000n) / max;
  return Number(scaled) / 10_000;
}
