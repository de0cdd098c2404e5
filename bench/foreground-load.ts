// A foreground OLTP load on the table being purged, in its own worker thread so the contender's client work cannot skew it.
import { Worker } from 'node:worker_threads';

export interface LoadStats {
  readonly ops: number;
  readonly errors: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  /** The slowest operations: when they started (epoch ms), how long they took, which kind. */
  readonly slowest: readonly { readonly at: number; readonly ms: number; readonly kind: string }[];
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

export async function startLoad(options: LoadOptions): Promise<{ stop: () => Promise<LoadStats> }> {
  const worker = new Worker(new URL('./load-worker-entry.mjs', import.meta.url), { workerData: options });
  await new Promise<void>((resolve, reject) => {
    worker.once('message', (m: { ready?: boolean }) => (m.ready ? resolve() : reject(new Error('load worker failed'))));
    worker.once('error', reject);
  });
  return {
    stop: () =>
      new Promise<LoadStats>((resolve, reject) => {
        worker.once('message', (stats: LoadStats) => {
          resolve(stats);
          void worker.terminate();
        });
        worker.once('error', reject);
        worker.postMessage('stop');
      }),
  };
}
