// Which table a name stands for now: recorded after a rebuild, so that a table dropped and recreated under that name is not "recently rebuilt".
import type { DbSession } from '../db/connection';
import { encodeFilename } from '../stats/innodb-names';

/**
 * Both change with every CREATE TABLE and with every rebuild (ALTER TABLE … FORCE, OPTIMIZE), on
 * MariaDB 10.11 and MySQL 8 alike: so the identity is read after our own rebuild, and a later
 * difference means someone else created (or rebuilt, or renamed into place) the table since.
 */
export interface TableIdentity {
  /** InnoDB's table id (lowest over partitions): never reused; unreadable without PROCESS. */
  readonly tableId: number | null;
  /** information_schema.TABLES.CREATE_TIME as UNIX time: always readable, but only to the second. */
  readonly createTime: number | null;
}

function likeEscape(s: string): string {
  return s.replace(/[\\_%]/g, (c) => `\\${c}`);
}

export async function readTableIdentity(db: DbSession, schema: string, table: string): Promise<TableIdentity> {
  const [t] = await db.query<{ c: number | string | null }>(
    'SELECT UNIX_TIMESTAMP(CREATE_TIME) AS c FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
    [schema, table],
  );
  const view = db.flavour.kind === 'mariadb' ? 'information_schema.INNODB_SYS_TABLES' : 'information_schema.INNODB_TABLES';
  const name = `${encodeFilename(schema)}/${encodeFilename(table)}`;
  let tableId: number | null = null;
  try {
    // Partitions are `t#P#p0` (MySQL 8: `t#p#p0`; the view's collation ignores case).
    const [r] = await db.query<{ id: number | string | null }>(`SELECT MIN(TABLE_ID) AS id FROM ${view} WHERE NAME = ? OR NAME LIKE ?`, [name, `${likeEscape(name)}#P#%`]);
    tableId = r?.id == null ? null : Number(r.id);
  } catch {
    // No PROCESS (the dictionary views are closed): CREATE_TIME alone.
  }
  return { tableId, createTime: t?.c == null ? null : Number(t.c) };
}

function asIdentity(v: unknown): TableIdentity | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  const num = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? x : null);
  return { tableId: num(o['tableId']), createTime: num(o['createTime']) };
}

/**
 * Whether `recorded` (from the run log) and `now` are the same table: by table id when both have
 * one, else by CREATE_TIME; undefined when neither can tell (a rebuild logged before identities were).
 */
export function sameTable(recorded: unknown, now: TableIdentity): boolean | undefined {
  const then = asIdentity(recorded);
  if (!then) return undefined;
  if (then.tableId !== null && now.tableId !== null) return then.tableId === now.tableId;
  if (then.createTime !== null && now.createTime !== null) return then.createTime === now.createTime;
  return undefined;
}

export function describeIdentity(i: TableIdentity): string {
  return i.tableId !== null ? `table id ${i.tableId}` : i.createTime !== null ? `created ${new Date(i.createTime * 1000).toISOString()}` : 'identity unknown';
}
