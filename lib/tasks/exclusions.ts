// targets[].excludeTables at run time: the destructive runners never touch an excluded table on a scheduled run.
import type { TargetConfig } from '../config/schema';
import type { DbSession } from '../db/connection';
import { parseTableRef, type TableRef } from '../db/identifiers';
import { EventValidationError } from '../events/schema';
import type { RetentionRule } from '../retention/engine';

/** Compares two schema or table names as the server resolves them. */
export type SameName = (a: string, b: string) => boolean;

const exactNames: SameName = (a, b) => a === b;
const caseInsensitiveNames: SameName = (a, b) => a.toLowerCase() === b.toLowerCase();

/** lower_case_table_names 0 (Linux, the RDS and Aurora default) compares names exactly; 1 and 2 compare them without case. */
export function sameNameFor(lowerCaseTableNames: number): SameName {
  return lowerCaseTableNames === 0 ? exactNames : caseInsensitiveNames;
}

export async function serverSameName(db: DbSession): Promise<SameName> {
  const [row] = await db.query<{ l: number | string }>('SELECT @@lower_case_table_names AS l');
  return sameNameFor(Number(row?.l ?? 0));
}

/** Scheduler and routine events carry `source` (and a routine its `routine`); an operator's console or CLI payload does not. */
function isScheduledRun(event: { readonly source?: string | undefined; readonly routine?: unknown }): boolean {
  return event.source !== undefined || event.routine !== undefined;
}

export interface Exclusion {
  /** The excludeTables entry as configured, and its index. */
  readonly entry: string;
  readonly index: number;
}

/** The excludeTables entry covering schema.table: a qualified entry that table, an unqualified one the name in any of the target's schemas. */
export function exclusionOf(target: TargetConfig, schema: string, table: string, same: SameName = exactNames): Exclusion | undefined {
  for (const [index, entry] of target.excludeTables.entries()) {
    let ref: TableRef;
    try {
      ref = parseTableRef(entry);
    } catch {
      continue; // the configuration schema refuses such an entry
    }
    if (same(ref.table, table) && (ref.schema === undefined || same(ref.schema, schema))) return { entry, index };
  }
  return undefined;
}

/** Whether `refs` (a payload's tables) name schema.table. */
function namedIn(refs: readonly TableRef[], schema: string, table: string, same: SameName = exactNames): boolean {
  return refs.some((r) => same(r.table, table) && (r.schema === undefined || same(r.schema, schema)));
}

function excludedText(target: TargetConfig, e: Exclusion): string {
  return `is in excludeTables[${e.index}] (${e.entry}) of target '${target.name}'`;
}

/**
 * A payload naming an excluded table: refused before anything runs, unless it is an ad-hoc run (no source, no routine)
 * that says `force: true`. A scheduled or routine run never touches it, force or not.
 */
export function refuseExcludedPayloadTable(
  target: TargetConfig,
  event: { readonly source?: string | undefined; readonly routine?: unknown; readonly force?: boolean | undefined },
  field: string,
  table: { schema: string; table: string },
  same: SameName = exactNames,
): void {
  const e = exclusionOf(target, table.schema, table.table, same);
  if (!e) return;
  if (isScheduledRun(event)) {
    throw new EventValidationError(`${field}: ${table.schema}.${table.table} ${excludedText(target, e)}: a scheduled or routine run never touches it, force or not`);
  }
  if (event.force !== true) {
    throw new EventValidationError(
      `${field}: ${table.schema}.${table.table} ${excludedText(target, e)}: scheduled runs never touch it; add "force": true (--force) to this ad-hoc run to do it anyway`,
    );
  }
}

/** Why a table dbmaint chose from configuration (not named with force in an ad-hoc payload) must stay untouched, or undefined. */
export function configuredExclusion(target: TargetConfig, schema: string, table: string, same: SameName): string | undefined {
  const e = exclusionOf(target, schema, table, same);
  return e ? `${schema}.${table} ${excludedText(target, e)}: excluded tables are never touched; remove it there or from excludeTables` : undefined;
}

/**
 * Rules of a retention run that must not run, with the reason: a table (or archive destination) in excludeTables
 * that the payload did not name with force on an ad-hoc run, and a second rule on a table an earlier rule covers.
 */
export function retentionRefusals(
  target: TargetConfig,
  event: { readonly source?: string | undefined; readonly routine?: unknown; readonly force?: boolean | undefined; readonly tables?: readonly string[] | undefined },
  rules: readonly RetentionRule[],
  same: SameName,
): Map<RetentionRule, string> {
  const forced = !isScheduledRun(event) && event.force === true && event.tables ? event.tables.map((t) => parseTableRef(t)) : [];
  const refusals = new Map<RetentionRule, string>();
  const seen: RetentionRule[] = [];
  for (const rule of rules) {
    const earlier = seen.find((r) => same(r.schema, rule.schema) && same(r.table, rule.table));
    if (earlier) {
      refusals.set(rule, `${rule.schema}.${rule.table} already has a rule in this run: one retention rule per table (merge the two)`);
      continue;
    }
    seen.push(rule);
    if (namedIn(forced, rule.schema, rule.table, same)) continue;
    const why =
      configuredExclusion(target, rule.schema, rule.table, same) ??
      (rule.action === 'archive' ? configuredExclusion(target, rule.archiveSchema, rule.archiveTable, same)?.replace(/^(\S+) /, '$1 (the archive destination) ') : undefined);
    if (why) refusals.set(rule, why);
  }
  return refusals;
}
