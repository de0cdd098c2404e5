// The one rule for a table named without its schema: the one configured schema that holds it; several is an input error.
import type { DbSession } from '../db/connection';
import type { TableRef } from '../db/identifiers';
import { EventValidationError } from '../events/schema';

/** A base table in one of the target's schemas, as information_schema.TABLES lists it. */
export interface SchemaTable {
  readonly schema: string;
  readonly table: string;
}

/** What of a target the rule reads (structural, so any caller holding a target can pass it). */
export interface NamingTarget {
  readonly name: string;
  readonly schemas: readonly string[];
}

/**
 * An unqualified name that more than one configured schema holds. An EventValidationError (its name too), as rebuild-indexes
 * has always thrown for it: the run is refused as input, before any statement that changes data.
 */
export class AmbiguousTableError extends EventValidationError {
  constructor(
    readonly field: string,
    readonly table: string,
    /** The schemas that hold it, in the target's order. */
    readonly candidates: readonly string[],
    target: string,
  ) {
    super(`${field}: table '${table}' exists in several schemas of target '${target}' (${candidates.join(', ')}): write it as schema.table: ${orList(candidates.map((s) => `${s}.${table}`))}`);
  }
}

function orList(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;
}

/**
 * The target's base tables: the candidates an unqualified name is placed among (rebuild-indexes' lookup; views and other
 * schemas are not candidates). Read-only, one statement.
 */
export async function readTargetTables(db: DbSession, schemas: readonly string[]): Promise<SchemaTable[]> {
  if (schemas.length === 0) return []; // IN () is a syntax error
  return db.query<SchemaTable>(
    "SELECT TABLE_SCHEMA AS `schema`, TABLE_NAME AS `table` FROM information_schema.TABLES WHERE TABLE_SCHEMA IN (?) AND TABLE_TYPE = 'BASE TABLE'",
    [schemas],
  );
}

/**
 * The table `ref` names among `tables` (readTargetTables), in `target`'s schemas only. A qualified name: that table.
 * An unqualified one: the table in the one configured schema that holds it; when several do, AmbiguousTableError (with
 * `field`, the config or payload path) names them and the fix. Undefined when no configured schema holds it: the
 * caller reports a missing table as its task always has. Names compare exactly, as rebuild-indexes compares them.
 */
export function resolveTableName(ref: TableRef, target: NamingTarget, tables: readonly SchemaTable[], field: string): SchemaTable | undefined {
  const found = tables.filter((t) => t.table === ref.table && target.schemas.includes(t.schema) && (ref.schema === undefined || t.schema === ref.schema));
  if (found.length > 1) {
    // Configured order, so that the message lists the schemas as the operator wrote them.
    const candidates = target.schemas.filter((s) => found.some((f) => f.schema === s));
    throw new AmbiguousTableError(field, ref.table, candidates, target.name);
  }
  return found[0];
}
