// EventBridge Scheduler schedules: one per task and target, in the maintenance time zone (DST handled by Scheduler).
import { Duration, NestedStack, TimeZone } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { cronExpression, type TaskDefinition } from '../../lib/catalogue';
import type { DbMaintConfig, TargetConfig } from '../../lib/config/schema';

export interface ScheduledRun {
  readonly task: TaskDefinition;
  readonly target: TargetConfig;
  readonly fn: lambda.IFunction;
}

export interface TaskSchedulesProps {
  readonly config: DbMaintConfig;
  readonly runs: readonly ScheduledRun[];
  readonly group: scheduler.IScheduleGroup;
  readonly role: iam.IRole;
  readonly deadLetterQueue: sqs.IQueue;
  readonly namePrefix: string;
}

/** The payload a scheduled invocation carries: which task, which target, nothing else. */
export function scheduledEvent(taskId: string, target: string): { source: 'dbmaint.scheduler'; task: string; target: string } {
  return { source: 'dbmaint.scheduler', task: taskId, target };
}

/**
 * A nested stack of schedules. Schedules are split across nested stacks so that a fleet
 * (50 targets x 9 tasks = 450 schedules) stays below CloudFormation's 500 resources per stack.
 */
export class TaskSchedules extends NestedStack {
  constructor(scope: Construct, id: string, props: TaskSchedulesProps) {
    super(scope, id, { description: 'dbmaint schedules' });
    const timeZone = TimeZone.of(props.config.timeZone);
    for (const run of props.runs) {
      const settings = run.target.tasks[run.task.id];
      const cron = settings?.schedule ?? run.task.schedule;
      new scheduler.Schedule(this, `${run.target.name}-${run.task.id}`, {
        scheduleName: `${props.namePrefix}-${run.target.name}-${run.task.id}`.slice(0, 64),
        description: `${run.task.id} on ${run.target.name}: ${settings?.schedule ? 'custom schedule' : run.task.scheduleText}`,
        scheduleGroup: props.group,
        schedule: scheduler.ScheduleExpression.expression(cronExpression(cron), timeZone),
        timeWindow: scheduler.TimeWindow.off(),
        enabled: settings?.enabled ?? true,
        target: new LambdaInvoke(run.fn, {
          role: props.role,
          input: scheduler.ScheduleTargetInput.fromObject(scheduledEvent(run.task.id, run.target.name)),
          // Delivery retries only (throttling, service errors): function errors are retried by Lambda itself.
          retryAttempts: 3,
          maxEventAge: Duration.hours(1),
          deadLetterQueue: props.deadLetterQueue,
        }),
      });
    }
  }
}
