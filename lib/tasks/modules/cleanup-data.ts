// The cleanup-data task: its event, the cleanup rules an event selects, run by the retention engine (lib/tasks/retention-task.ts).
import { METRIC } from '../../metrics/names';
import type { TargetConfig } from '../../config/schema';
import * as z from 'zod';
import { baseEventShape, EventValidationError, tableRefText } from '../../events/schema';
import { readTargetTables } from '../../config/table-names';
import { cleanupRule, retentionRulesOf } from '../../retention/rules';
import type { RetentionRule } from '../../retention/engine';
import { exclusionOf, refuseExcludedPayloadTable } from '../exclusions';
import { retentionDigest, retentionLeft, retentionSummary, runRetention } from '../retention-task';
import { resolveTableRefs } from '../target';
import { defineTask } from '../task-module';

const eventSchema = z.strictObject({
  ...baseEventShape,
  /** Run only the rules of these tables (a table named twice, or as `t` and `schema.t`, runs once). */
  tables: z.array(tableRefText).min(1).max(500).optional(),
  /** Ad-hoc runs only: let `tables` name a table in excludeTables (scheduled and routine runs never touch one). */
  force: z.boolean().default(false),
});
type CleanupEvent = z.output<typeof eventSchema>;

/**
 * The target's cleanup rules, narrowed to the tables an event names: each must have a rule, an unqualified name must
 * not match rules in several schemas, and a rule named twice (also as `t` and `schema.t`) runs once.
 */
function selectCleanupRules(event: CleanupEvent, target: TargetConfig, rules: readonly RetentionRule[]): RetentionRule[] {
  const refs = resolveTableRefs(target, event.tables);
  if (!refs) return [...rules];
  const chosen: RetentionRule[] = [];
  refs.forEach((ref, i) => {
    const field = `event.tables[${i}]`;
    const matches = rules.filter((r) => r.table === ref.table && (ref.schema === undefined || r.schema === ref.schema));
    if (matches.length === 0) {
      const excluded = (ref.schema ? [ref.schema] : target.schemas).map((s) => exclusionOf(target, s, ref.table)).find((e) => e !== undefined);
      throw new EventValidationError(
        `${field}: no cleanup rule for table '${ref.schema ? `${ref.schema}.` : ''}${ref.table}' on target '${target.name}'` +
          (excluded ? ` (it is in excludeTables[${excluded.index}] (${excluded.entry}), which no rule may name)` : ''),
      );
    }
    if (matches.length > 1) {
      throw new EventValidationError(`${field}: table '${ref.table}' has cleanup rules in several schemas (${matches.map((m) => m.schema).join(', ')}); name it as schema.table`);
    }
    const rule = matches[0]!;
    refuseExcludedPayloadTable(target, event, field, rule);
    if (!chosen.includes(rule)) chosen.push(rule);
  });
  return chosen;
}

export const cleanupData = defineTask({
  id: 'cleanup-data',
  dashboard: {
    fleet: [
      { title: 'Most rows deleted', metric: METRIC.RowsDeleted.name, stat: 'Sum' },
      { title: 'Purges falling behind (rules)', metric: METRIC.TablesFallingBehind.name, stat: 'Maximum' },
    ],
    database: [
      {
        title: 'Rows purged / archived',
        series: [
          { metric: METRIC.RowsDeleted.name, stat: 'Sum', label: 'deleted' },
          { metric: METRIC.RowsArchived.name, stat: 'Sum', label: 'archived (cleanup)' },
        ],
        stacked: true,
      },
    ],
  },
  description:
    'Retention rules: delete or archive rows older than each rule’s cutoff, in short chunks that walk an index, throttled, resumable, one run per table at a time.',
  eventSchema,
  // Before any SQL: the payload's names against the rules as configured (a rule's unqualified table in the first schema).
  validate: (event, target) => void selectCleanupRules(event, target, target.cleanupRules.map((r) => cleanupRule(target, r))),
  // Connected: each rule's table placed among the target's tables (lib/config/table-names.ts), then the payload's again.
  run: async (ctx) => runRetention(ctx, selectCleanupRules(ctx.event, ctx.target, retentionRulesOf(ctx.target, await readTargetTables(ctx.db, ctx.target.schemas), 'cleanup-data'))),
  digest: retentionDigest,
  left: retentionLeft,
  summary: retentionSummary,
});
