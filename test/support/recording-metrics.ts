// A MetricsPublisher for tests that keeps every point as `<table or *>:<name>=<value>`.
import type { MetricsPublisher } from '../../lib/metrics/emf';

export function recordingMetrics(): { readonly metrics: MetricsPublisher; readonly published: string[] } {
  const published: string[] = [];
  return {
    published,
    metrics: {
      publish(_task, _db, points, table) {
        published.push(...points.map((p) => `${table ?? '*'}:${p.name}=${p.value}`));
        return undefined;
      },
    },
  };
}
