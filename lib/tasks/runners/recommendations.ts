// The recommendations task's runner: how its event is parsed and checked, and what it does with an open session.
import { parseEvent, recommendationsEventSchema, type RecommendationsEvent } from '../../events/schema';
import { runRecommendations } from '../recommendations-runner';
import type { TaskRunner } from '../task-runner';

export const recommendationsRunner: TaskRunner<RecommendationsEvent, unknown> = {
  parse: (raw) => parseEvent(recommendationsEventSchema, raw, 'recommendations'),
  run: runRecommendations,
};
