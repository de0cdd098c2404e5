// Fault injection at statement granularity: a DbSession whose every statement passes through hooks that can
// kill the connection, crash the server or hold locks before, during or after a chosen statement of a chunk.
import type { DbSession } from '../../lib/db/connection';

/** What a statement of the retention engine (or the run log) is, recognised from its SQL text. */
export type StatementKind =
  | 'boundary' // SELECT … LIMIT 1 OFFSET ?: the next chunk's upper key; starts a chunk (or a retry of it)
  | 'lock-rows' // archive: SELECT COUNT(*), <checksum> … FOR UPDATE: locks the chunk's rows and checksums them
  | 'copy' // archive: INSERT INTO <archive> … SELECT
  | 'verify' // archive: SELECT COUNT(*), <checksum> FROM <archive> WHERE archived_at = ? AND …: the copies' checksum
  | 'delete' // DELETE <source> FROM <source> FORCE INDEX (…) WHERE …
  | 'log-row' // INSERT INTO <run log> … VALUES
  | 'commit'
  | 'rollback'
  | 'status' // SHOW GLOBAL STATUS: the counters read after a chunk (after every one unless chunks are short)
  | 'create-archive' // CREATE TABLE IF NOT EXISTS <archive> LIKE <source>
  | 'alter-archive' // ALTER TABLE <archive> ADD COLUMN archived_at …
  | 'other';

export function classify(sql: string): StatementKind {
  const s = sql.trimStart();
  if (/LIMIT 1 OFFSET \?\s*$/.test(s)) return 'boundary';
  if (/^SELECT COUNT\(\*\) AS n\b.* FOR UPDATE\s*$/s.test(s)) return 'lock-rows';
  if (/^SELECT COUNT\(\*\) AS n, .* WHERE `archived_at` = \? AND /s.test(s)) return 'verify';
  if (/^INSERT INTO/.test(s) && /\(run_id, task,/.test(s)) return 'log-row';
  if (/^INSERT INTO .* SELECT /s.test(s)) return 'copy';
  if (/^DELETE\b/.test(s)) return 'delete';
  if (/^COMMIT/i.test(s)) return 'commit';
  if (/^ROLLBACK/i.test(s)) return 'rollback';
  if (/^SHOW GLOBAL STATUS WHERE/.test(s)) return 'status';
  if (/^CREATE TABLE IF NOT EXISTS .* LIKE /s.test(s)) return 'create-archive';
  if (/^ALTER TABLE .* ADD COLUMN `archived_at`/s.test(s)) return 'alter-archive';
  return 'other';
}

export interface StatementEvent {
  readonly sql: string;
  readonly params: readonly unknown[];
  readonly kind: StatementKind;
  /** Chunks (boundary reads) seen so far on this session, this one included; 0 before the first chunk. */
  readonly chunk: number;
  /** Position of the statement on this session, from 0. */
  readonly index: number;
}

export interface StatementHooks {
  /** Before the statement is sent. */
  before?(e: StatementEvent): Promise<void> | void;
  /** While it runs: `settled` resolves when it has ended (either way). The statement's own result is awaited after. */
  during?(e: StatementEvent, settled: Promise<void>): Promise<void> | void;
  /** After it ended; `error` is what it threw (rethrown after the hook). */
  after?(e: StatementEvent, error: unknown): Promise<void> | void;
}

type Runner = (sql: string, params?: readonly unknown[]) => Promise<unknown>;

/** `db` with every query() and exec() passed through `hooks`; everything else is the session itself. */
export function interceptStatements(db: DbSession, hooks: StatementHooks): DbSession {
  let chunk = 0;
  let index = 0;
  const wrap = (run: Runner): Runner => {
    return async (sql, params) => {
      const kind = classify(sql);
      if (kind === 'boundary') chunk++;
      const e: StatementEvent = { sql, params: params ?? [], kind, chunk, index: index++ };
      await hooks.before?.(e);
      const running = run(sql, params);
      const settled = running.then(
        () => undefined,
        () => undefined,
      );
      if (hooks.during) await hooks.during(e, settled);
      let result: unknown;
      try {
        result = await running;
      } catch (err) {
        await hooks.after?.(e, err);
        throw err;
      }
      await hooks.after?.(e, undefined);
      return result;
    };
  };
  const query = wrap((sql, params) => db.query(sql, params));
  const exec = wrap((sql, params) => db.exec(sql, params));
  return new Proxy(db, {
    get(target, prop) {
      if (prop === 'query') return query;
      if (prop === 'exec') return exec;
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/** A single fault: `action` runs once, at the first statement of `kind` in chunk `chunk`, at `timing`. */
export interface StatementFault {
  readonly chunk: number;
  readonly kind: StatementKind;
  readonly timing: 'before' | 'during' | 'after';
  readonly action: () => Promise<void>;
}

export function injectFault(db: DbSession, fault: StatementFault): { session: DbSession; fired: () => StatementEvent | undefined } {
  let fired: StatementEvent | undefined;
  // The first such statement from chunk `fault.chunk` on: under contention the counters are not read after every chunk.
  const hit = (e: StatementEvent) => !fired && e.chunk >= fault.chunk && e.kind === fault.kind;
  const fire = async (e: StatementEvent) => {
    fired = e;
    await fault.action();
  };
  const hooks: StatementHooks =
    fault.timing === 'before'
      ? { before: (e) => (hit(e) ? fire(e) : undefined) }
      : fault.timing === 'during'
        ? { during: (e) => (hit(e) ? fire(e) : undefined) }
        : { after: (e) => (hit(e) ? fire(e) : undefined) };
  return { session: interceptStatements(db, hooks), fired: () => fired };
}
