// The rebuild-indexes task: its event, and the named tables rebuilt online (lib/tasks/rebuild-task.ts).
import * as z from 'zod';
import { baseEventShape, tableRefText } from '../../events/schema';
import { REBUILD_ENGINES, rebuildDigest, rebuildLeft, rebuildSummary, rebuildTableNames, runRebuildIndexes } from '../rebuild-task';
import { defineTask } from '../task-module';

const eventSchema = z.strictObject({
  ...baseEventShape,
  /** Tables to rebuild; default: the target's `rebuildTables`. A table named twice is rebuilt once. */
  tables: z.array(tableRefText).min(1).max(500).optional(),
  /** Ad-hoc runs only: let `tables` name a table in excludeTables (scheduled and routine runs never touch one). */
  force: z.boolean().default(false),
  /** `alter`: ALTER TABLE … FORCE in place; `pt-online-schema-change`: a throttled copy (the long runner only: docs/long-runner.md). */
  engine: z.enum(REBUILD_ENGINES).default('alter'),
});

export const rebuildIndexes = defineTask({
  id: 'rebuild-indexes',
  description:
    'The same online rebuild and guards for the tables named in the payload or in the target’s `rebuildTables`.',
  eventSchema,
  validate: (event, target) => void rebuildTableNames(event, target),
  run: runRebuildIndexes,
  digest: rebuildDigest,
  left: rebuildLeft,
  summary: rebuildSummary,
});
