// The alarms a task's catalogue entry asks for (TaskDefinition.alarms): one factory per alarm id, on that task's metrics.
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { TaskAlarmId } from '../../lib/catalogue';
import type { DbMaintConfig, TargetConfig } from '../../lib/config/schema';
import { METRIC } from '../../lib/metrics/names';
import { targetMetric } from './target-metric';

const MB = 1024 * 1024;

/** What an alarm is built from: the task whose metric it watches, on one target. */
export interface TaskAlarmContext {
  readonly namespace: string;
  readonly task: string;
  readonly target: TargetConfig;
  readonly settings: DbMaintConfig['alarms'];
}

type AlarmSpec = Omit<cloudwatch.AlarmProps, 'alarmName'>;

const daily = Duration.hours(26);

/** Each factory returns undefined where the alarm does not apply to the target (no storage limit, no horizon alarm). */
export const TASK_ALARMS: { readonly [K in TaskAlarmId]: (c: TaskAlarmContext) => AlarmSpec | undefined } = {
  fragmentation: ({ namespace, task, target, settings: a }) => ({
    alarmDescription: `A table over the optimize size floor on ${target.name} is at least ${a.fragmentationPercent}% free space (MaxFragmentationPercent).`,
    metric: targetMetric(namespace, task, target.name, METRIC.MaxFragmentationPercent.name, cloudwatch.Stats.MAXIMUM, daily),
    threshold: a.fragmentationPercent,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  }),
  'rapid-growth': ({ namespace, task, target, settings: a }) => ({
    alarmDescription: `${target.name} grows more than ${a.growthMbPerDay} MB/day (GrowthBytesPerDay, least squares over the statistics window).`,
    metric: targetMetric(namespace, task, target.name, METRIC.GrowthBytesPerDay.name, cloudwatch.Stats.MAXIMUM, daily),
    threshold: a.growthMbPerDay * MB,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  }),
  'storage-horizon': ({ namespace, task, target, settings: a }) =>
    target.storageLimitGb === undefined
      ? undefined
      : {
          alarmDescription: `${target.name} reaches its storage limit (${target.storageLimitGb} GB) in fewer than ${a.daysToStorageLimit} days at its current growth.`,
          metric: targetMetric(namespace, task, target.name, METRIC.DaysToStorageLimit.name, cloudwatch.Stats.MINIMUM, daily),
          threshold: a.daysToStorageLimit,
          comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        },
  'purge-falling-behind': ({ namespace, task, target, settings: a }) => ({
    alarmDescription: `On ${target.name}, a cleanup rule's RowsRemaining has not shrunk for ${a.purgeBehindRuns} daily runs in a row (TablesFallingBehind).`,
    metric: targetMetric(namespace, task, target.name, METRIC.TablesFallingBehind.name, cloudwatch.Stats.MAXIMUM, Duration.days(1)),
    threshold: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    evaluationPeriods: a.purgeBehindRuns,
    datapointsToAlarm: a.purgeBehindRuns,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  }),
  // An insert into a range with no partition fails the application: page before the runway runs out.
  'partition-runway': ({ namespace, task, target, settings: a }) =>
    target.cleanupRules.some((r) => r.partitioning)
      ? {
          alarmDescription: `On ${target.name}, a partitioned cleanup rule's table has fewer than ${a.partitionsAheadBelow} future partitions (MinPartitionsAhead): inserts beyond the last partition will fail.`,
          metric: targetMetric(namespace, task, target.name, METRIC.MinPartitionsAhead.name, cloudwatch.Stats.MINIMUM, daily),
          threshold: a.partitionsAheadBelow,
          comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }
      : undefined,
};
