// A metric as one target's task runs emit it, under the per-database dimension set: what alarms and dashboard graphs read.
import type { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { DIMENSION, type MetricName, SERVICE_NAME } from '../../lib/metrics/names';

export function targetMetric(namespace: string, task: string, target: string, name: MetricName, statistic: string, period: Duration): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace,
    metricName: name,
    dimensionsMap: { [DIMENSION.Service]: SERVICE_NAME, [DIMENSION.Task]: task, [DIMENSION.Database]: target },
    statistic,
    period,
  });
}
