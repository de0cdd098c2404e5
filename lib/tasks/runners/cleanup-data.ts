// The cleanup-data task's runner: how its event is parsed and checked, and what it does with an open session.
import type { TargetConfig } from '../../config/schema';
import { cleanupEventSchema, EventValidationError, parseEvent, type CleanupEvent } from '../../events/schema';
import { cleanupRule } from '../../retention/rules';
import type { RetentionRule } from '../../retention/engine';
import { exclusionOf, refuseExcludedPayloadTable } from '../exclusions';
import { runRetention, type RetentionResult } from '../retention-runner';
import { resolveTableRefs } from '../target';
import type { TaskRunner } from '../task-runner';

/**
 * The target's cleanup rules, narrowed to the tables an event names: each must have a rule, an unqualified name must
 * not match rules in several schemas, and a rule named twice (also as `t` and `schema.t`) runs once.
 */
function selectCleanupRules(event: CleanupEvent, target: TargetConfig): RetentionRule[] {
  const rules = target.cleanupRules.map((r) => cleanupRule(target, r));
  const refs = resolveTableRefs(target, event.tables);
  if (!refs) return rules;
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

export const cleanupRunner: TaskRunner<CleanupEvent, RetentionResult> = {
  parse: (raw) => parseEvent(cleanupEventSchema, raw, 'cleanup-data'),
  validate: (event, target) => void selectCleanupRules(event, target),
  run: (ctx) => runRetention(ctx, selectCleanupRules(ctx.event, ctx.target)),
};
