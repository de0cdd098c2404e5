// A task's lock watch: its observer session opens only when a statement first runs long enough to be watched.
import { openTargetSession } from '../db/connection';
import { LockWatch } from '../db/lock-diagnostics';
import type { TaskContext } from './task-module';

/** Run `fn` with a lock watch on the task's target; the observer session (if one was opened) is closed after. */
export async function withLockWatch<E, T>(ctx: TaskContext<E>, fn: (watch: LockWatch) => Promise<T>): Promise<T> {
  const watch = new LockWatch(() => openTargetSession(ctx.credentials, ctx.target.secretArn, ctx.config.session, ctx.target.tls), ctx.log);
  try {
    return await fn(watch);
  } finally {
    await watch.close();
  }
}
