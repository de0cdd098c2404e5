// The rebuild-indexes task: its event, and the named tables rebuilt online (lib/tasks/rebuild-task.ts).
import * as z from 'zod';
import { baseEventShape, tableRefText } from '../../events/schema';
import { rebuildDigest, rebuildSummary, rebuildTableNames, runRebuildIndexes } from '../rebuild-task';
import { defineTask } from '../task-module';

const eventSchema = z.strictObject({
  ...baseEventShape,
  /** Tables to rebuild; default: the target's `rebuildTables`. A table named twice is rebuilt once. */
  tables: z.array(tableRefText).min(1).max(500).optional(),
  /** Ad-hoc runs only: let `tables` name a table in excludeTables (scheduled and routine runs never touch one). */
  force: z.boolean().default(false),
});

export const rebuildIndexes = defineTask({
  id: 'rebuild-indexes',
  eventSchema,
  validate: (event, target) => void rebuildTableNames(event, target),
  run: runRebuildIndexes,
  digest: rebuildDigest,
  summary: rebuildSummary,
});
