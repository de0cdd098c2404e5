// Growth rates by least squares and capacity projections from snapshot history.

export interface Sums {
  /** Number of snapshots, and Σx, Σy, Σxy, Σx² with x in days and y in the measured unit. */
  readonly n: number;
  readonly sx: number;
  readonly sy: number;
  readonly sxy: number;
  readonly sxx: number;
  /** Days between the first and last snapshot. */
  readonly spanDays: number;
}

export type Trend = { readonly perDay: number; readonly points: number; readonly spanDays: number } | { readonly notEnoughHistory: string };

/** Least-squares slope (units per day), or why there is none yet. */
export function slopeFromSums(s: Sums, minSpanDays: number): Trend {
  if (s.n < 2) return { notEnoughHistory: `${s.n} snapshot${s.n === 1 ? '' : 's'} in the window; a trend needs at least 2` };
  if (s.spanDays < minSpanDays) {
    return { notEnoughHistory: `snapshots span ${hours(s.spanDays)} h; a trend needs at least ${hours(minSpanDays)} h` };
  }
  const denom = s.n * s.sxx - s.sx * s.sx;
  if (denom <= 0) return { notEnoughHistory: 'all snapshots were taken at the same time' };
  return { perDay: (s.n * s.sxy - s.sx * s.sy) / denom, points: s.n, spanDays: s.spanDays };
}

export function sumsOf(points: readonly { readonly days: number; readonly value: number }[]): Sums {
  let sx = 0, sy = 0, sxy = 0, sxx = 0;
  for (const p of points) {
    sx += p.days;
    sy += p.value;
    sxy += p.days * p.value;
    sxx += p.days * p.days;
  }
  const xs = points.map((p) => p.days);
  const spanDays = points.length ? Math.max(...xs) - Math.min(...xs) : 0;
  return { n: points.length, sx, sy, sxy, sxx, spanDays };
}

/** Days until `current` reaches `limit` at `perDay`; null when not growing, 0 when already there. */
export function daysUntil(limit: number, current: number, perDay: number): number | null {
  if (current >= limit) return 0;
  if (perDay <= 0) return null;
  return Math.round(((limit - current) / perDay) * 10) / 10;
}

function hours(days: number): number {
  return Math.round(days * 24 * 10) / 10;
}
