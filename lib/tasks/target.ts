// Choosing the target of a run and checking payload table names against its schemas, before any SQL.
import type { DbMaintConfig, TargetConfig } from '../config/schema';
import { parseTableRef, type TableRef } from '../db/identifiers';
import { EventValidationError } from '../events/schema';

export function resolveTarget(config: DbMaintConfig, name: string | undefined): TargetConfig {
  if (name === undefined) {
    if (config.targets.length === 1) return config.targets[0]!;
    throw new EventValidationError(
      `event.target: required when several targets are configured (${config.targets.map((t) => t.name).join(', ')})`,
    );
  }
  const target = config.targets.find((t) => t.name === name);
  if (!target) {
    throw new EventValidationError(`event.target: unknown target '${name}' (configured: ${config.targets.map((t) => t.name).join(', ')})`);
  }
  return target;
}

/** Payload table names → refs; a schema qualifier must be one of the target's schemas. */
export function resolveTableRefs(target: TargetConfig, tables: readonly string[] | undefined, field = 'event.tables'): TableRef[] | undefined {
  if (tables === undefined) return undefined;
  return tables.map((text, i) => {
    let ref: TableRef;
    try {
      ref = parseTableRef(text);
    } catch (err) {
      throw new EventValidationError(`${field}[${i}]: ${(err as Error).message}`);
    }
    if (ref.schema !== undefined && !target.schemas.includes(ref.schema)) {
      throw new EventValidationError(
        `${field}[${i}]: schema '${ref.schema}' is not one of target '${target.name}' schemas (${target.schemas.join(', ')})`,
      );
    }
    return ref;
  });
}

/** Rows of information_schema.TABLES for the given refs; a name that matches no table is an input error. */
export function assertTablesExist(refs: readonly TableRef[], existing: readonly { schema: string; table: string }[], target: TargetConfig, field = 'event.tables'): void {
  refs.forEach((ref, i) => {
    const found = existing.some((e) => e.table === ref.table && (ref.schema === undefined || e.schema === ref.schema));
    if (!found) {
      const where = ref.schema ?? target.schemas.join(', ');
      throw new EventValidationError(`${field}[${i}]: table '${ref.table}' does not exist in ${where} on target '${target.name}'`);
    }
  });
}

/** Resolved tables without repeats, first occurrence kept: a payload naming `t` and `schema.t` means one table. */
export function uniqueTables<T extends { readonly schema: string; readonly table: string }>(tables: readonly T[]): T[] {
  const seen = new Set<string>();
  return tables.filter((t) => {
    const key = `${t.schema}\u0000${t.table}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
