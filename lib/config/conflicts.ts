// Contradictions between one target's table lists (rules, excludeTables, rebuildTables), found at `cdk synth` with both paths named.
import { isNamedIn, parseTableRef, type TableRef } from '../db/identifiers';

/** The fields of a target the checks read (structural, so the schema module can call this from its own refinement). */
export interface TargetTables {
  readonly schemas: readonly string[];
  readonly excludeTables: readonly string[];
  readonly cleanupRules: readonly { readonly table: string; readonly action: string; readonly archiveSchema?: string | undefined; readonly archiveTable?: string | undefined }[];
  readonly archiveOrders?: { readonly table: string; readonly archiveSchema?: string | undefined; readonly archiveTable?: string | undefined } | undefined;
  readonly rebuildTables: readonly string[];
}

export interface ConflictIssue {
  /** Zod path from the configuration's root, e.g. ['targets', 0, 'cleanupRules', 2, 'table']. */
  readonly path: (string | number)[];
  readonly message: string;
}

/** A table a rule or the archive works on, after the unqualified name was placed in the target's first schema. */
interface Placed {
  readonly schema: string;
  readonly table: string;
  /** Where it was configured, as printed: `targets[0].cleanupRules[2].table`. */
  readonly where: string;
  readonly path: (string | number)[];
}

function schemaOf(text: string): string | undefined {
  return text.includes('.') ? text.split('.')[0] : undefined;
}

function refOf(text: string): TableRef | undefined {
  try {
    return parseTableRef(text);
  } catch {
    return undefined; // the field's own regex reports it
  }
}

/**
 * Every contradiction in one target. Names compare exactly (case-sensitive), as MySQL and MariaDB on Linux do by
 * default (lower_case_table_names=0, the RDS and Aurora default); the runners compare again at run time under the
 * server's own setting. An unqualified rule table is taken as the target's first schema's: synthesis cannot see which
 * schemas hold it (at run time the one that does, config/table-names.ts; the runners' retentionRefusals refuse a second
 * rule that lands on one table there). An unqualified excludeTables or rebuildTables entry may mean the table in any of
 * the target's schemas.
 */
export function targetConflicts(t: TargetTables, i: number): ConflictIssue[] {
  const issues: ConflictIssue[] = [];
  const at = (...rest: (string | number)[]): (string | number)[] => ['targets', i, ...rest];
  const text = (path: (string | number)[]): string => path.reduce<string>((s, p) => (typeof p === 'number' ? `${s}[${p}]` : s === '' ? p : `${s}.${p}`), '');
  const outside = (schema: string) => `schema '${schema}' is not one of the target's schemas (${t.schemas.join(', ')})`;

  // 1. Schema qualifiers outside the target: the runners could never reach these tables (or would refuse at run time).
  const qualified: [string, (string | number)[]][] = [
    ...t.cleanupRules.map((r, j): [string, (string | number)[]] => [r.table, at('cleanupRules', j, 'table')]),
    ...(t.archiveOrders ? [[t.archiveOrders.table, at('archiveOrders', 'table')] as [string, (string | number)[]]] : []),
    ...t.rebuildTables.map((name, j): [string, (string | number)[]] => [name, at('rebuildTables', j)]),
    ...t.excludeTables.map((name, j): [string, (string | number)[]] => [name, at('excludeTables', j)]),
  ];
  for (const [name, path] of qualified) {
    const schema = schemaOf(name);
    if (schema !== undefined && !t.schemas.includes(schema)) issues.push({ path, message: outside(schema) });
  }

  const place = (name: string, path: (string | number)[]): Placed | undefined => {
    const ref = refOf(name);
    return ref ? { schema: ref.schema ?? t.schemas[0]!, table: ref.table, where: text(path), path } : undefined;
  };
  const excluded = t.excludeTables.map((name, j) => ({ name, j, ref: refOf(name) }));
  const exclusionOf = (schema: string, table: string) => excluded.find((e) => e.ref !== undefined && isNamedIn([e.ref], schema, table));
  const excludedMessage = (p: { schema: string; table: string }, what: string, e: { name: string; j: number }) =>
    `${p.schema}.${p.table}${what} is excluded by ${text(at('excludeTables', e.j))} (${e.name}): excluded tables are never touched; remove it from one of the two`;

  // 2. Retention rules: one per table, never on an excluded table, never archiving into their own table.
  const rules: Placed[] = [];
  const retention = [
    ...t.cleanupRules.map((r, j) => ({ r, path: at('cleanupRules', j) })),
    ...(t.archiveOrders ? [{ r: { ...t.archiveOrders, action: 'archive' }, path: at('archiveOrders') }] : []),
  ];
  for (const { r, path } of retention) {
    const p = place(r.table, [...path, 'table']);
    if (!p) continue;
    const earlier = rules.find((q) => q.schema === p.schema && q.table === p.table);
    if (earlier) {
      issues.push({ path: p.path, message: `${p.schema}.${p.table} is also ${earlier.where}: one retention rule per table (merge the two)` });
    } else {
      rules.push(p);
    }
    const e = exclusionOf(p.schema, p.table);
    if (e) issues.push({ path: p.path, message: excludedMessage(p, '', e) });
    if (r.action === 'archive') {
      const dest = { schema: r.archiveSchema ?? p.schema, table: r.archiveTable ?? `${p.table}_archive`.slice(0, 64) };
      const destPath = [...path, r.archiveTable !== undefined || r.archiveSchema === undefined ? 'archiveTable' : 'archiveSchema'];
      if (dest.schema === p.schema && dest.table === p.table) {
        issues.push({ path: destPath, message: `${p.schema}.${p.table} is the archive destination of its own rule (${p.where}): name another archiveTable` });
      }
      const de = t.schemas.includes(dest.schema) ? exclusionOf(dest.schema, dest.table) : undefined;
      if (de) issues.push({ path: destPath, message: excludedMessage(dest, ' (the archive destination)', de) });
    }
  }

  // 3. Tables of the weekly rebuild: an excluded table is never rebuilt by a schedule.
  t.rebuildTables.forEach((name, j) => {
    const ref = refOf(name);
    if (!ref) return;
    const e = excluded.find((x) => x.ref !== undefined && x.ref.table === ref.table && (x.ref.schema === undefined || ref.schema === undefined || x.ref.schema === ref.schema));
    if (e) issues.push({ path: at('rebuildTables', j), message: `${name} is excluded by ${text(at('excludeTables', e.j))} (${e.name}): excluded tables are never touched; remove it from one of the two` });
  });
  return issues;
}
