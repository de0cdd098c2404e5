// The archive-orders task: its event and its one rule (config.archiveOrders), run by the retention engine (lib/tasks/retention-task.ts).
import { METRIC } from '../../metrics/names';
import type { TargetConfig } from '../../config/schema';
import * as z from 'zod';
import { baseEventShape, EventValidationError } from '../../events/schema';
import { readTargetTables } from '../../config/table-names';
import { retentionRulesOf } from '../../retention/rules';
import { retentionDigest, retentionLeft, retentionSummary, runRetention } from '../retention-task';
import { defineTask } from '../task-module';

const eventSchema = z.strictObject({
  ...baseEventShape,
  /** Override the configured age of orders to archive. */
  daysOld: z.number().int().min(1).max(36500).optional(),
});


function archiveOrdersConfig(target: TargetConfig) {
  if (!target.archiveOrders) throw new EventValidationError(`event.target: target '${target.name}' has no archiveOrders configuration`);
  return target.archiveOrders;
}

export const archiveOrders = defineTask({
  id: 'archive-orders',
  dashboard: { database: [{ title: 'Rows purged / archived', series: [{ metric: METRIC.RowsArchived.name, stat: 'Sum', label: 'orders archived' }], stacked: true }] },
  description:
    'Moves completed orders older than `archiveOrders.daysOld` (default 365) into the archive table, chunk by chunk in one transaction each.',
  eventSchema,
  validate: (_event, target) => void archiveOrdersConfig(target),
  run: async (ctx) => {
    archiveOrdersConfig(ctx.target);
    // The rule's table placed among the target's tables (lib/config/table-names.ts): an ambiguous name is refused.
    return runRetention(ctx, retentionRulesOf(ctx.target, await readTargetTables(ctx.db, ctx.target.schemas), 'archive-orders', ctx.event.daysOld));
  },
  digest: retentionDigest,
  left: retentionLeft,
  summary: retentionSummary,
});
