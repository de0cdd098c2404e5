// A session's lock_wait_timeout lowered for a piece of DDL work (how long the application may queue behind its metadata-lock request), then put back.
import type { DbSession } from './connection';

/** Runs `fn` with the session's lock_wait_timeout at `seconds` (unchanged when undefined, e.g. a dry run) and restores it after. */
export async function withLockWaitTimeout<T>(db: DbSession, seconds: number | undefined, fn: () => Promise<T>): Promise<T> {
  if (seconds === undefined) return fn();
  const [prev] = await db.query<{ v: number }>('SELECT @@SESSION.lock_wait_timeout AS v');
  await db.exec('SET SESSION lock_wait_timeout = ?', [seconds]);
  try {
    return await fn();
  } finally {
    await db.exec('SET SESSION lock_wait_timeout = ?', [Number(prev?.v ?? 31_536_000)]).catch(() => undefined);
  }
}
