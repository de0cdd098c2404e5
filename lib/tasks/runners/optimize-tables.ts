// The optimize-tables task's runner: how its event is parsed and checked, and what it does with an open session.
import { optimizeEventSchema, parseEvent, type OptimizeEvent } from '../../events/schema';
import type { OptimizeResult } from '../../maintenance/optimize';
import { runOptimize } from '../rebuild-runner';
import { resolveTableRefs } from '../target';
import type { TaskRunner } from '../task-runner';

export const optimizeRunner: TaskRunner<OptimizeEvent, OptimizeResult> = {
  parse: (raw) => parseEvent(optimizeEventSchema, raw, 'optimize-tables'),
  validate: (event, target) => void resolveTableRefs(target, event.tables),
  run: runOptimize,
};
