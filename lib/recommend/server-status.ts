// Server-wide figures the checks read: global status counters and whether performance_schema collects what a check needs.
import type { DbSession } from '../db/connection';
import { errorText, isMissingTable, type CheckContext } from './check';

/** SHOW GLOBAL STATUS needs no privilege, unlike performance_schema.global_status on MySQL 8. Keys lower-cased. */
export async function globalStatus(db: DbSession, names: readonly string[]): Promise<Map<string, number>> {
  const rows = await db.query<Record<string, unknown>>('SHOW GLOBAL STATUS WHERE Variable_name IN (?)', [names]);
  const out = new Map<string, number>();
  for (const r of rows) out.set(String(r['Variable_name']).toLowerCase(), Number(r['Value']));
  return new Map(names.map((n) => [n, out.get(n.toLowerCase()) ?? 0]));
}

/**
 * true when performance_schema is on and the instrument and consumer a check relies on are enabled;
 * false when performance_schema is off; otherwise why the figures would be missing (a check reading
 * zeros from a disabled instrument would call every index unused).
 */
export async function performanceSchemaReadable(ctx: CheckContext, instrument: string | undefined, consumer: string): Promise<true | false | string> {
  if (!(await ctx.performanceSchema())) return false;
  try {
    if (instrument) {
      const [i] = await ctx.db.query<{ enabled: string }>('SELECT ENABLED AS enabled FROM performance_schema.setup_instruments WHERE NAME = ?', [instrument]);
      if (i && String(i.enabled).toUpperCase() !== 'YES') return `performance_schema instrument ${instrument} is disabled`;
    }
    const [c] = await ctx.db.query<{ enabled: string }>('SELECT ENABLED AS enabled FROM performance_schema.setup_consumers WHERE NAME = ?', [consumer]);
    if (c && String(c.enabled).toUpperCase() !== 'YES') return `performance_schema consumer ${consumer} is disabled`;
  } catch (err) {
    if (isMissingTable(err)) return `performance_schema is not readable here: ${errorText(err)}`;
    throw err;
  }
  return true;
}
