// Named global status counters and variables, read with SHOW GLOBAL STATUS / VARIABLES (no privilege needed, unlike performance_schema.global_status on MySQL 8).
import type { DbSession } from './connection';

/** The counters `names` (0 for one the server does not have), keyed by the names as given. */
export async function globalStatus(db: DbSession, names: readonly string[]): Promise<Map<string, number>> {
  const rows = await db.query<Record<string, unknown>>('SHOW GLOBAL STATUS WHERE Variable_name IN (?)', [names]);
  const out = new Map<string, number>();
  for (const r of rows) out.set(String(r['Variable_name']).toLowerCase(), Number(r['Value']));
  return new Map(names.map((n) => [n, out.get(n.toLowerCase()) ?? 0]));
}

/** Global variables by name, as numbers (a name this server does not have is left out: SHOW VARIABLES never fails on it). */
export async function globalVariables(db: DbSession, names: readonly string[]): Promise<Map<string, number>> {
  const rows = await db.query<{ Variable_name: string; Value: string }>('SHOW GLOBAL VARIABLES WHERE Variable_name IN (?)', [names]);
  return new Map(rows.map((r) => [String(r.Variable_name).toLowerCase(), Number(r.Value)]));
}
