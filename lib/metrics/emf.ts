// Publishing task metrics as CloudWatch Embedded Metric Format through Powertools Metrics (no PutMetricData, no IAM).
import { Metrics, type MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MetricPoint } from './names';
import { DIMENSION, SERVICE_NAME } from './names';

export interface MetricsPublisher {
  /**
   * Emit one EMF document for a task run (or, with `table`, for one table of it);
   * returns the document (the local runner prints it).
   */
  publish(task: string, database: string, points: readonly MetricPoint[], table?: string): string | undefined;
}

// Publishing Task both as a dimension and in a second dimension set is deliberate; Powertools
// warns about the shared key on every publish, so those two warnings are dropped and the rest kept.
const EXPECTED_WARNING = /has already been added|defined as both a dimension and dimension set/;
const quietLogger = {
  debug: () => {},
  info: () => {},
  warn: (...args: unknown[]) => {
    if (!EXPECTED_WARNING.test(String(args[0]))) console.warn(...args);
  },
  error: (...args: unknown[]) => console.error(...args),
};

export class EmfMetricsPublisher implements MetricsPublisher {
  private readonly metrics: Metrics;

  constructor(
    namespace: string,
    private readonly write: (line: string) => void = (line) => process.stdout.write(line + '\n'),
  ) {
    this.metrics = new Metrics({ namespace, serviceName: SERVICE_NAME, logger: quietLogger });
  }

  publish(task: string, database: string, points: readonly MetricPoint[], table?: string): string | undefined {
    if (points.length === 0) return undefined;
    const m = this.metrics;
    m.addDimension(DIMENSION.Task, task);
    m.addDimension(DIMENSION.Database, database);
    if (table !== undefined) m.addDimension(DIMENSION.Table, table);
    // Per-table figures carry the table under one dimension set; a task's own metrics also go under a second,
    // independent set without the database, for one fleet-wide failure alarm per task whatever the target count.
    else m.addDimensions({ [DIMENSION.Task]: task });
    for (const p of points) m.addMetric(p.name, p.unit as (typeof MetricUnit)[keyof typeof MetricUnit], p.value);
    try {
      const line = JSON.stringify(m.serializeMetrics());
      this.write(line);
      return line;
    } finally {
      m.clearMetrics();
      m.clearDimensions();
    }
  }
}
