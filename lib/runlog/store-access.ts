// Whether dbmaint's own tables (run log, task runs, statistics history, alert state) work for this user, found before any work.
import type { DbSession } from '../db/connection';
import { qualifiedName, quoteIdentifier } from '../db/identifiers';
import { grantStatement } from '../db/privileges';

/**
 * Errors that mean "this user cannot use this table here", as opposed to a fault of the run:
 * access denied to a database, table or column (1044, 1142, 1143), a global privilege missing (1227),
 * no such table or database (1146, 1049: not created, and not creatable), a read-only server or
 * transaction (1290, 1036, 1792).
 */
const UNAVAILABLE_ERRNOS = new Set([1044, 1142, 1143, 1227, 1146, 1049, 1290, 1036, 1792]);

export function isStoreUnavailable(err: unknown): boolean {
  return UNAVAILABLE_ERRNOS.has(Number((err as { errno?: unknown }).errno));
}

export function errorReason(err: unknown): string {
  const e = err as { errno?: number; sqlMessage?: string; message?: string };
  const text = e.sqlMessage ?? e.message ?? String(err);
  return typeof e.errno === 'number' ? `error ${e.errno}: ${text}` : text;
}

export type StoreName = 'run log' | 'task runs' | 'statistics history' | 'alert state';
export type StoreUse = 'write' | 'read' | 'prune';

/** One of dbmaint's tables that this run cannot use: said once in the run's notes, with the GRANT that fixes it. */
export interface StoreProblem {
  readonly store: StoreName;
  readonly use: StoreUse;
  readonly schema: string;
  readonly tables: readonly string[];
  readonly reason: string;
  /** What the code runs on the schema for this use (CREATE only while a table does not exist). */
  readonly privileges: readonly string[];
  /** What the run does without it. */
  readonly consequence: string;
}

const NOT: Record<StoreUse, string> = { write: 'not writable', read: 'not readable', prune: 'not pruned' };

/** "run log (dbmaint.command_log) not writable: <reason>; <consequence>. Fix: GRANT …;" */
export function problemNote(p: StoreProblem, user: string): string {
  const where = p.tables.map((t) => `${p.schema}.${t}`).join(', ');
  return `${p.store} (${where}) ${NOT[p.use]}: ${p.reason}; ${p.consequence}. Fix: ${grantStatement(p.privileges, `${quoteIdentifier(p.schema)}.*`, user)}`;
}

/** A store as the code uses it: its tables and their DDL, and the writes it really runs (probed, then rolled back). */
export interface StoreSpec {
  readonly store: StoreName;
  /** `write` unless said (the history's DELETE of old snapshots is `prune`). */
  readonly use?: StoreUse;
  readonly schema: string;
  readonly tables: readonly string[];
  /** CREATE DATABASE / CREATE TABLE IF NOT EXISTS for the tables; run only while one is missing. */
  readonly ddl: readonly string[];
  /** Privileges the writes need besides CREATE. */
  readonly writePrivileges: readonly string[];
  /** The store's writes, run in a transaction that is always rolled back. */
  probe(db: DbSession): Promise<void>;
  readonly consequence: string;
}

async function missingTables(db: DbSession, schema: string, tables: readonly string[]): Promise<string[]> {
  // information_schema lists only tables the user has some privilege on: an ungranted table looks missing, and CREATE is named.
  const rows = await db.query<{ t: string }>('SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME IN (?)', [schema, tables]);
  const found = new Set(rows.map((r) => r.t));
  return tables.filter((t) => !found.has(t));
}

/**
 * Create the store's tables when missing, then run its writes and roll them back: afterwards the
 * store is known to work for this user on this server (grants, roles, read_only), or the problem
 * is known — before the task has done anything. A table a DBA created in advance needs no CREATE.
 */
export async function ensureWritable(db: DbSession, spec: StoreSpec): Promise<StoreProblem | undefined> {
  const problem = (err: unknown, privileges: readonly string[]): StoreProblem => ({
    store: spec.store,
    use: spec.use ?? 'write',
    schema: spec.schema,
    tables: spec.tables,
    reason: errorReason(err),
    privileges,
    consequence: spec.consequence,
  });
  let missing: string[];
  try {
    missing = await missingTables(db, spec.schema, spec.tables);
  } catch (err) {
    return problem(err, ['CREATE', ...spec.writePrivileges]);
  }
  const privileges = missing.length ? ['CREATE', ...spec.writePrivileges] : spec.writePrivileges;
  if (missing.length) {
    try {
      for (const ddl of spec.ddl) await db.exec(ddl);
    } catch (err) {
      return problem(err, privileges);
    }
  }
  try {
    await db.exec('START TRANSACTION');
    await spec.probe(db);
  } catch (err) {
    return problem(err, privileges);
  } finally {
    await db.exec('ROLLBACK').catch(() => undefined);
  }
  return undefined;
}

/** `SELECT … LIMIT 0` on each table: the privilege is checked, no row is read. Undefined: readable. */
export async function probeReadable(db: DbSession, schema: string, tables: readonly string[]): Promise<{ readonly errno: number; readonly reason: string } | undefined> {
  try {
    for (const t of tables) await db.query(`SELECT 1 FROM ${qualifiedName(schema, t)} LIMIT 0`);
    return undefined;
  } catch (err) {
    if (isStoreUnavailable(err)) return { errno: Number((err as { errno?: unknown }).errno), reason: errorReason(err) };
    throw err;
  }
}
