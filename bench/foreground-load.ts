// A foreground OLTP load on the table being purged, in a process of its own: no contender (dbmaint runs in the
// benchmark's process, pt-archiver in its own) shares a process, an event loop or a heap with the latency it measures.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

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
      new Promise<LoadStats>((resolve, reject) => {
        child.once('message', (stats: LoadStats) => resolve(stats));
        child.once('error', reject);
        child.send('stop');
      }),
  };
}
