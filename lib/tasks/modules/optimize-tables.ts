// The optimize-tables task: its event, and the fragmented tables rebuilt online (lib/tasks/rebuild-task.ts).
import * as z from 'zod';
import { baseEventShape, tableRefText } from '../../events/schema';
import { REBUILD_ENGINES, rebuildDigest, rebuildLeft, rebuildSummary, runOptimize } from '../rebuild-task';
import { resolveTableRefs } from '../target';
import { defineTask } from '../task-module';

const eventSchema = z.strictObject({
  ...baseEventShape,
  /** Only these tables; they must still cross the thresholds unless `force`. */
  tables: z.array(tableRefText).min(1).max(500).optional(),
  force: z.boolean().default(false),
  /** `alter`: ALTER TABLE … FORCE in place; `pt-online-schema-change`: a throttled copy (the long runner only: docs/long-runner.md). */
  engine: z.enum(REBUILD_ENGINES).default('alter'),
});

export const optimizeTables = defineTask({
  id: 'optimize-tables',
  description:
    'Online rebuild (`ALTER TABLE … FORCE, ALGORITHM=INPLACE, LOCK=NONE`) of tables over `thresholds.fragmentationPercent` and `thresholds.optimizeMinSizeMb`, largest reclaimable space first; skips busy tables instead of queueing behind them; never starts a rebuild the time budget cannot finish.',
  eventSchema,
  validate: (event, target) => void resolveTableRefs(target, event.tables),
  run: runOptimize,
  digest: rebuildDigest,
  left: rebuildLeft,
  summary: rebuildSummary,
});
