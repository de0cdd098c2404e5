// The archive-orders task's runner: how its event is parsed and checked, and what it does with an open session.
import type { TargetConfig } from '../../config/schema';
import { archiveOrdersEventSchema, EventValidationError, parseEvent, type ArchiveOrdersEvent } from '../../events/schema';
import { archiveOrdersRule } from '../../retention/rules';
import { runRetention, type RetentionResult } from '../retention-runner';
import type { TaskRunner } from '../task-runner';

function archiveOrdersConfig(target: TargetConfig) {
  if (!target.archiveOrders) throw new EventValidationError(`event.target: target '${target.name}' has no archiveOrders configuration`);
  return target.archiveOrders;
}

export const archiveOrdersRunner: TaskRunner<ArchiveOrdersEvent, RetentionResult> = {
  parse: (raw) => parseEvent(archiveOrdersEventSchema, raw, 'archive-orders'),
  validate: (_event, target) => void archiveOrdersConfig(target),
  run: (ctx) => runRetention(ctx, [archiveOrdersRule(ctx.target, archiveOrdersConfig(ctx.target), ctx.event.daysOld)]),
};
