// What a task function returns to Step Functions and the console: totals and the most important items, never the whole database.
import type { TaskRunResult } from './task-module';

/** Items kept per list: enough to act on, small enough that 20 and 20,000 tables return the same size. */
export const RESULT_LIST_LIMIT = 10;
/** The returned JSON stays under this (Step Functions' state quota is 256 KiB, Lambda's response 6 MB). */
export const RESULT_MAX_BYTES = 32 * 1024;
/** A string longer than this (an error text quoting a statement) is cut. */
const STRING_LIMIT = 2_000;

type Json = unknown;

/**
 * Lower ranks first: what needs attention (failed, refused), then what is unfinished, then what was done, then what
 * needed nothing. Lists the runners already order (largest first, priority first) keep their order within a rank.
 */
const RANK: Readonly<Record<string, number>> = {
  failed: 0,
  refused: 0,
  error: 0,
  high: 0,
  'stopped-at-deadline': 1,
  deferred: 1,
  busy: 1,
  blocked: 1,
  'already-running': 1,
  medium: 1,
  skipped: 3,
  fresh: 3,
  ok: 3,
  low: 3,
  'not-started': 3,
};

function rankOf(item: Json): number {
  if (item === null || typeof item !== 'object' || Array.isArray(item)) return 2;
  const o = item as Record<string, unknown>;
  for (const field of ['status', 'action', 'priority', 'outcome']) {
    const v = o[field];
    if (typeof v === 'string' && v in RANK) return RANK[v]!;
  }
  return 2;
}

function bound(value: Json, path: string, limit: number, omitted: Record<string, number>): Json {
  if (typeof value === 'string') {
    if (value.length <= STRING_LIMIT) return value;
    omitted[`${path} (characters)`] = value.length - STRING_LIMIT;
    return `${value.slice(0, STRING_LIMIT)}…`;
  }
  if (Array.isArray(value)) {
    let items = value;
    if (items.length > limit) {
      items = items
        .map((item, i) => ({ item, i, rank: rankOf(item) }))
        .sort((a, b) => a.rank - b.rank || a.i - b.i)
        .slice(0, limit)
        .map((x) => x.item);
      omitted[path] = value.length - limit;
    }
    return items.map((item, i) => bound(item, `${path}[${i}]`, limit, omitted));
  }
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, bound(v, path ? `${path}.${k}` : k, limit, omitted)]));
  }
  return value;
}

/** Element paths ("result.tables[3].x") collapse to their list ("result.tables[].x") so that counts add up per list. */
function collapse(omitted: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, n] of Object.entries(omitted)) {
    const key = k.replace(/\[\d+\]/g, '[]');
    out[key] = (out[key] ?? 0) + n;
  }
  return out;
}

/**
 * The run result with every list cut to its most important `limit` items and long strings cut, halving the limit until
 * the JSON fits `maxBytes`. The metric points are kept whole (their number is fixed by the task, not by the database).
 */
export function boundRunResult(run: TaskRunResult, limit = RESULT_LIST_LIMIT, maxBytes = RESULT_MAX_BYTES): TaskRunResult {
  const { metrics, ...rest } = run;
  for (let n = limit; ; n = Math.floor(n / 2)) {
    const omitted: Record<string, number> = {};
    const body = bound(rest, '', n, omitted) as Omit<TaskRunResult, 'metrics'>;
    const out: TaskRunResult = { ...body, metrics, ...(Object.keys(omitted).length > 0 ? { omitted: collapse(omitted) } : {}) };
    if (Buffer.byteLength(JSON.stringify(out)) <= maxBytes) return out;
    if (n === 0) {
      // Nothing left to cut but the task's own result: keep what the routine and the alarms read.
      const { result: _result, ...head } = out;
      return { ...head, omitted: { ...out.omitted, result: 1 } };
    }
  }
}
