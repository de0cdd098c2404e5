// A foreground OLTP load on the table being purged, in a process of its own: no contender (dbmaint runs in the
// benchmark's process, pt-archiver in its own) shares a process, an event loop or a heap with the latency it measures.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface LoadStats {
  readonly ops: number;
  readonly errors: number;
  readonly p50: number;
  readonly p99: number;
  /** The 99.9th percentile: over five rounds of a table, the 30th-slowest of some 30,000 operations. */
  readonly p999: number;
  readonly max: number;
  /** The slowest operations: when they started (epoch ms), how long they took, which kind. */
  readonly slowest: readonly SlowOp[];
}

/** One foreground run: its summary, and every operation's latency (ms) so that repeats can be pooled. */
export interface LoadRun {
  readonly stats: LoadStats;
  readonly latencies: readonly number[];
}

export interface SlowOp {
  readonly at: number;
  readonly ms: number;
  readonly kind: string;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/**
 * Percentiles over all operations of one or more runs. Pooling repeats estimates the p99 from every
 * operation measured (the median of per-run p99s throws most of them away); the max is the worst seen.
 */
export function summarizeLoad(runs: readonly { latencies: readonly number[]; errors: number; slowest: readonly SlowOp[] }[]): LoadStats {
  const sorted = runs.flatMap((r) => r.latencies).sort((a, b) => a - b);
  return {
    ops: sorted.length,
    errors: runs.reduce((n, r) => n + r.errors, 0),
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    p999: percentile(sorted, 99.9),
    max: sorted[sorted.length - 1] ?? 0,
    slowest: runs
      .flatMap((r) => r.slowest)
      .sort((a, b) => b.ms - a.ms)
      .slice(0, 12),
  };
}

export interface LoadOptions {
  readonly url: string;
  readonly table: string;
  readonly rows: number;
  readonly connections: number;
  /** One operation every `intervalMs` per connection (paced, not a closed loop). */
  readonly intervalMs: number;
  readonly seed: number;
}

export async function startLoad(options: LoadOptions): Promise<{ stop: () => Promise<LoadRun> }> {
  const child = fork(fileURLToPath(new URL('./load-worker-entry.mjs', import.meta.url)), [], {
    env: { ...process.env, DBMAINT_LOAD_OPTIONS: JSON.stringify(options) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('message', (m: { ready?: boolean }) => (m.ready ? resolve() : reject(new Error('load process failed'))));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`load process exited ${code} before it was ready`)));
  });
  child.removeAllListeners('exit');
  return {
    stop: () =>
      new Promise<LoadRun>((resolve, reject) => {
        child.once('message', (run: LoadRun) => resolve(run));
        child.once('error', reject);
        child.send('stop');
      }),
  };
}
