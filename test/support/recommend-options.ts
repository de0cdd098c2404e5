// The options a test gives generateRecommendations for one schema of its own: the config's settings, no retention rules, an empty history.
import type { DbMaintConfig } from '../../lib/config/schema';
import type { RecommendOptions } from '../../lib/recommend/generate';

export function recommendOptions(schema: string, cfg: DbMaintConfig, extra: Partial<RecommendOptions> = {}): RecommendOptions {
  return {
    schemas: [schema],
    target: 'test',
    settings: cfg.recommendations,
    thresholds: cfg.thresholds,
    retentionRules: [],
    historySchema: `${schema}_history`,
    growthWindowDays: 30,
    minHistoryHours: 20,
    now: new Date(),
    ...extra,
  };
}
