// Alarms that page when a task fails: on the task's own TaskFailed metric and on Lambda errors (timeouts, crashes).
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { TaskDefinition } from '../../lib/catalogue';
import { DIMENSION, METRIC, SERVICE_NAME } from '../../lib/metrics/names';

export interface FailureAlarmsProps {
  readonly namespace: string;
  readonly topic: sns.ITopic;
  readonly functions: readonly { task: TaskDefinition; fn: lambda.IFunction }[];
  readonly failureQueue: sqs.IQueue;
  readonly namePrefix: string;
}

/** The fleet-wide TaskFailed metric of one task: the dimension set every run emits besides the per-database one. */
function taskFailedMetric(namespace: string, taskId: string): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace,
    metricName: METRIC.TaskFailed.name,
    dimensionsMap: { [DIMENSION.Service]: SERVICE_NAME, [DIMENSION.Task]: taskId },
    statistic: cloudwatch.Stats.SUM,
    period: Duration.minutes(5),
  });
}

export class FailureAlarms extends Construct {
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: FailureAlarmsProps) {
    super(scope, id);
    const notify = new actions.SnsAction(props.topic);
    const add = (alarm: cloudwatch.Alarm) => {
      alarm.addAlarmAction(notify);
      alarm.addOkAction(notify);
      this.alarms.push(alarm);
    };
    for (const { task, fn } of props.functions) {
      add(
        new cloudwatch.Alarm(this, `${task.id}-failed`, {
          alarmName: `${props.namePrefix}-${task.id}-failed`,
          alarmDescription: `dbmaint ${task.id} reported TaskFailed on some target: see the function's logs and the run log table.`,
          metric: taskFailedMetric(props.namespace, task.id),
          threshold: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }),
      );
      // A timeout or crash never reaches the code that emits TaskFailed; Lambda's own Errors metric does.
      add(
        new cloudwatch.Alarm(this, `${task.id}-errors`, {
          alarmName: `${props.namePrefix}-${task.id}-lambda-errors`,
          alarmDescription: `dbmaint ${task.id}: the function raised an error or timed out.`,
          metric: fn.metricErrors({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
          threshold: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }),
      );
    }
    // A report that could not be mailed never fails its task: it is counted, and this pages instead.
    for (const { task } of props.functions.filter((f) => f.task.sendsMail)) {
      add(
        new cloudwatch.Alarm(this, `${task.id}-send-failed`, {
          alarmName: `${props.namePrefix}-${task.id}-report-send-failed`,
          alarmDescription: `dbmaint ${task.id} could not send a report or alert through SES (ReportSendFailed): check the SES identity, sandbox and quotas.`,
          metric: new cloudwatch.Metric({
            namespace: props.namespace,
            metricName: METRIC.ReportSendFailed.name,
            dimensionsMap: { [DIMENSION.Service]: SERVICE_NAME, [DIMENSION.Task]: task.id },
            statistic: cloudwatch.Stats.SUM,
            period: Duration.hours(1),
          }),
          threshold: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }),
      );
    }
    add(
      new cloudwatch.Alarm(this, 'failed-invocations', {
        alarmName: `${props.namePrefix}-failed-invocations`,
        alarmDescription: 'Scheduled dbmaint invocations that failed after retries are waiting in the failure queue.',
        metric: props.failureQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: cloudwatch.Stats.MAXIMUM }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
  }
}
