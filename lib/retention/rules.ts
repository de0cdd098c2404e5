// From configuration to engine rules: cleanup rules and the archive-orders rule, resolved for one target.
import type { ArchiveOrdersConfig, CleanupRule, TargetConfig } from '../config/schema';
import { parseTableRef } from '../db/identifiers';
import type { RetentionRule } from './engine';

/** An unqualified table lives in the target's first schema. */
function locate(target: TargetConfig, text: string): { schema: string; table: string } {
  const ref = parseTableRef(text);
  return { schema: ref.schema ?? target.schemas[0]!, table: ref.table };
}

export function cleanupRule(target: TargetConfig, rule: CleanupRule): RetentionRule {
  const { schema, table } = locate(target, rule.table);
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
  };
}

export function archiveOrdersRule(target: TargetConfig, cfg: ArchiveOrdersConfig, daysOld?: number): RetentionRule {
  const { schema, table } = locate(target, cfg.table);
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
