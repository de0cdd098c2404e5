// Whether performance_schema collects what a check needs.
import type { DbSession } from '../db/connection';
import { errorText, isMissingTable, type CheckContext } from './check';

/**
 * true when performance_schema is on and the instrument and consumer a check relies on are enabled;
 * false when performance_schema is off; otherwise why the figures would be missing (a check reading
 * zeros from a disabled instrument would call every index unused).
 */
export async function performanceSchemaReadable(ctx: CheckContext, instrument: string | undefined, consumer: string): Promise<true | false | string> {
  if (!(await ctx.performanceSchema())) return false;
  return instrumentsReadable(ctx.db, instrument, consumer);
}

/** The same on another node (a replica): performance_schema on, the instrument and consumer enabled. */
export async function performanceSchemaReadableOn(db: DbSession, instrument: string | undefined, consumer: string): Promise<true | false | string> {
  const [row] = await db.query<{ on: number | string }>('SELECT @@performance_schema AS `on`');
  if (!['1', 'ON'].includes(String(row?.on ?? '0').toUpperCase())) return false;
  return instrumentsReadable(db, instrument, consumer);
}

async function instrumentsReadable(db: DbSession, instrument: string | undefined, consumer: string): Promise<true | string> {
  try {
    if (instrument) {
      const [i] = await db.query<{ enabled: string }>('SELECT ENABLED AS enabled FROM performance_schema.setup_instruments WHERE NAME = ?', [instrument]);
      if (i && String(i.enabled).toUpperCase() !== 'YES') return `performance_schema instrument ${instrument} is disabled`;
    }
    const [c] = await db.query<{ enabled: string }>('SELECT ENABLED AS enabled FROM performance_schema.setup_consumers WHERE NAME = ?', [consumer]);
    if (c && String(c.enabled).toUpperCase() !== 'YES') return `performance_schema consumer ${consumer} is disabled`;
  } catch (err) {
    if (isMissingTable(err)) return `performance_schema is not readable here: ${errorText(err)}`;
    throw err;
  }
  return true;
}
