// The collect-statistics task's runner: how its event is parsed and checked, and what it does with an open session.
import { collectStatisticsEventSchema, parseEvent, type CollectStatisticsEvent } from '../../events/schema';
import type { CollectResult } from '../../stats/collect';
import { runCollectStatistics } from '../statistics-runner';
import type { TaskRunner } from '../task-runner';

export const collectStatisticsRunner: TaskRunner<CollectStatisticsEvent, CollectResult> = {
  parse: (raw) => parseEvent(collectStatisticsEventSchema, raw, 'collect-statistics'),
  run: runCollectStatistics,
};
