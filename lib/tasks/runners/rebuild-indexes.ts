// The rebuild-indexes task's runner: how its event is parsed and checked, and what it does with an open session.
import { parseEvent, rebuildIndexesEventSchema, type RebuildIndexesEvent } from '../../events/schema';
import type { RebuildResult } from '../../maintenance/rebuild';
import { rebuildTableNames, runRebuildIndexes } from '../rebuild-runner';
import type { TaskRunner } from '../task-runner';

export const rebuildIndexesRunner: TaskRunner<RebuildIndexesEvent, RebuildResult> = {
  parse: (raw) => parseEvent(rebuildIndexesEventSchema, raw, 'rebuild-indexes'),
  validate: (event, target) => void rebuildTableNames(event, target),
  run: runRebuildIndexes,
};
