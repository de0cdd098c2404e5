// From configuration to engine rules: cleanup rules and the archive-orders rule, resolved for one target.
import { tasksWhere, type TaskId } from '../catalogue';
import type { ArchiveOrdersConfig, CleanupRule, TargetConfig } from '../config/schema';
import { AmbiguousTableError, resolveTableName, type SchemaTable } from '../config/table-names';
import { parseTableRef } from '../db/identifiers';
import type { RetentionRule } from './engine';

/** The target's base tables (readTargetTables) an unqualified rule table is placed among, and the rule's field for errors. */
export interface Placement {
  readonly tables: readonly SchemaTable[];
  readonly field: string;
}

/**
 * Where a rule's table is. With a placement, the rule of config/table-names.ts: the one configured schema that holds an
 * unqualified name, an AmbiguousTableError when several do. When none does, the first schema's name, so that the engine
 * reports the missing table as it always has. Without a placement (checking a payload before connecting), the first
 * schema, as before.
 */
function locate(target: TargetConfig, text: string, placement: Placement | undefined): { schema: string; table: string } {
  const ref = parseTableRef(text);
  if (ref.schema !== undefined) return { schema: ref.schema, table: ref.table };
  const found = placement ? resolveTableName(ref, target, placement.tables, placement.field) : undefined;
  return { schema: found?.schema ?? target.schemas[0]!, table: ref.table };
}

export function cleanupRule(target: TargetConfig, rule: CleanupRule, placement?: Placement): RetentionRule {
  const { schema, table } = locate(target, rule.table, placement);
  return {
    schema,
    table,
    dateColumn: rule.dateColumn,
    ...(rule.dateFormat ? { dateFormat: rule.dateFormat } : {}),
    retentionDays: rule.retentionDays,
    action: rule.action,
    where: rule.where,
    archiveSchema: rule.archiveSchema ?? schema,
    ...(rule.createArchiveSchema ? { createArchiveSchema: true } : {}),
    archiveTable: rule.archiveTable ?? `${table}_archive`.slice(0, 64),
    allowFullScan: rule.allowFullScan,
    walk: rule.walk,
    ...(rule.chunkTimeSeconds !== undefined ? { chunkTimeSeconds: rule.chunkTimeSeconds } : {}),
    ...(rule.cascade ? { cascade: true } : {}),
    ...(rule.partitioning ? { partitioning: rule.partitioning } : {}),
  };
}

export function archiveOrdersRule(target: TargetConfig, cfg: ArchiveOrdersConfig, daysOld?: number, placement?: Placement): RetentionRule {
  const { schema, table } = locate(target, cfg.table, placement);
  return {
    schema,
    table,
    dateColumn: cfg.dateColumn,
    ...(cfg.dateFormat ? { dateFormat: cfg.dateFormat } : {}),
    retentionDays: daysOld ?? cfg.daysOld,
    action: 'archive',
    where: [{ column: cfg.statusColumn, op: 'IN', value: cfg.completedValues }],
    archiveSchema: cfg.archiveSchema ?? schema,
    ...(cfg.createArchiveSchema ? { createArchiveSchema: true } : {}),
    archiveTable: cfg.archiveTable ?? `${table}_archive`.slice(0, 64),
    allowFullScan: false,
    walk: cfg.walk,
  };
}

/** The retention task that runs the rules of a configuration key: its catalogue entry requires that key. */
function taskRunning(requires: 'cleanupRules' | 'archiveOrders'): TaskId {
  const [task] = tasksWhere((t) => t.capability === 'retention' && t.requires === requires);
  if (!task) throw new Error(`no retention task in the catalogue requires ${requires}`);
  return task;
}

/** One configured rule placed on the server's tables: the engine rule, or why it cannot be placed. */
export type PlacedRule = {
  /** The rule's table field at run time, e.g. `config.cleanupRules[2].table`. */
  readonly field: string;
  readonly task: TaskId;
  readonly action: 'delete' | 'archive';
} & ({ readonly rule: RetentionRule } | { readonly error: AmbiguousTableError });

/**
 * Every retention rule of the target (cleanup rules, then archiveOrders) placed among `tables` (readTargetTables); a rule
 * whose unqualified table is ambiguous carries the error instead. Never throws for that, so that preflight can list every
 * such rule. Two rules placed on one table are left to the runners' retentionRefusals (lib/tasks/exclusions.ts), which
 * refuses the second under the server's own name comparison and still runs the others.
 */
export function placeRetentionRules(target: TargetConfig, tables: readonly SchemaTable[], daysOld?: number): PlacedRule[] {
  const configured = [
    ...target.cleanupRules.map((r, j) => ({ field: `config.cleanupRules[${j}].table`, task: taskRunning('cleanupRules'), action: r.action, make: (p: Placement) => cleanupRule(target, r, p) })),
    ...(target.archiveOrders
      ? [{ field: 'config.archiveOrders.table', task: taskRunning('archiveOrders'), action: 'archive' as const, make: (p: Placement) => archiveOrdersRule(target, target.archiveOrders!, daysOld, p) }]
      : []),
  ];
  return configured.map(({ field, task, action, make }): PlacedRule => {
    try {
      return { field, task, action, rule: make({ tables, field }) };
    } catch (err) {
      if (!(err instanceof AmbiguousTableError)) throw err;
      return { field, task, action, error: err };
    }
  });
}

/** The target's rules of `task` (all when undefined), placed as placeRetentionRules does; the first ambiguous one is thrown. */
export function retentionRulesOf(target: TargetConfig, tables: readonly SchemaTable[], task?: PlacedRule['task'], daysOld?: number): RetentionRule[] {
  return placeRetentionRules(target, tables, daysOld)
    .filter((p) => task === undefined || p.task === task)
    .map((p) => {
      if ('error' in p) throw p.error;
      return p.rule;
    });
}
