// The optimize-tables task: its event, and the fragmented tables rebuilt online (lib/tasks/rebuild-task.ts).
import * as z from 'zod';
import { baseEventShape, tableRefText } from '../../events/schema';
import { rebuildDigest, rebuildSummary, runOptimize } from '../rebuild-task';
import { resolveTableRefs } from '../target';
import { defineTask } from '../task-module';

const eventSchema = z.strictObject({
  ...baseEventShape,
  /** Only these tables; they must still cross the thresholds unless `force`. */
  tables: z.array(tableRefText).min(1).max(500).optional(),
  force: z.boolean().default(false),
});

export const optimizeTables = defineTask({
  id: 'optimize-tables',
  eventSchema,
  validate: (event, target) => void resolveTableRefs(target, event.tables),
  run: runOptimize,
  digest: rebuildDigest,
  summary: rebuildSummary,
});
