// Per-target resources in nested stacks: schedules (tasks and routines) and the alarms that watch each target.
import { Duration, NestedStack, TimeZone } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { appliesTo, cronExpression, getTask, scheduleTextOf, type CronSpec, type RoutineDefinition, type TaskDefinition } from '../../lib/catalogue';
import { silenceHours } from '../../lib/config/schedule-check';
import type { DbMaintConfig, TargetConfig } from '../../lib/config/schema';
import { METRIC } from '../../lib/metrics/names';
import { targetMetric } from './target-metric';
import { TASK_ALARMS } from './task-alarms';

export interface TargetStackProps {
  readonly config: DbMaintConfig;
  readonly targets: readonly TargetConfig[];
  readonly functions: ReadonlyMap<string, { task: TaskDefinition; fn: lambda.IFunction }>;
  /** The routines, for the silence alarms of their steps (their schedules are the fleet routines', in the main stack). */
  readonly routines: readonly RoutineDefinition[];
  readonly group: scheduler.IScheduleGroup;
  readonly role: iam.IRole;
  readonly deadLetterQueue: sqs.IQueue;
  readonly topic: sns.ITopic;
  readonly namePrefix: string;
}

/** The payload a scheduled invocation carries: which task, which target, nothing else. */
function scheduledEvent(taskId: string, target: string): { source: 'dbmaint.scheduler'; task: string; target: string } {
  return { source: 'dbmaint.scheduler', task: taskId, target };
}

/** Scheduler starts each run at a moment it picks within the window: a fleet's 01:00 runs spread over those minutes. */
export function scheduleTimeWindow(minutes: number): scheduler.TimeWindow {
  return minutes > 0 ? scheduler.TimeWindow.flexible(Duration.minutes(minutes)) : scheduler.TimeWindow.off();
}

/** Delivery retries only (throttling, service errors): function and execution errors are retried where they run. */
export function scheduleDelivery(role: iam.IRole, deadLetterQueue: sqs.IQueue): { role: iam.IRole; retryAttempts: number; maxEventAge: Duration; deadLetterQueue: sqs.IQueue } {
  return { role, retryAttempts: 3, maxEventAge: Duration.hours(1), deadLetterQueue };
}

/**
 * Schedules and alarms of a slice of the targets. Kept together per target and split across nested
 * stacks so that a fleet of 500 targets stays below CloudFormation's 500 resources (and 1 MB) per stack.
 */
export class TargetStack extends NestedStack {
  readonly schedules: scheduler.Schedule[] = [];
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: TargetStackProps) {
    super(scope, id, { description: 'dbmaint schedules and alarms per target' });
    const timeZone = TimeZone.of(props.config.timeZone);
    const notify = new actions.SnsAction(props.topic);
    const ns = props.config.metricNamespace;
    const a = props.config.alarms;
    const timeWindow = scheduleTimeWindow(props.config.fleet.flexibleWindowMinutes);

    const schedule = (target: TargetConfig, id: string, cron: CronSpec, custom: boolean, text: string, invoke: scheduler.IScheduleTarget) => {
      this.schedules.push(
        new scheduler.Schedule(this, `${target.name}-${id}`, {
          scheduleName: `${props.namePrefix}-${target.name}-${id}`.slice(0, 64),
          description: `${id} on ${target.name}: ${custom ? 'custom schedule' : text}`,
          scheduleGroup: props.group,
          schedule: scheduler.ScheduleExpression.expression(cronExpression(cron), timeZone),
          timeWindow,
          enabled: target.tasks[id]?.enabled ?? true,
          target: invoke,
        }),
      );
    };
    const alarm = (target: TargetConfig, id: string, p: Omit<cloudwatch.AlarmProps, 'alarmName'>) => {
      const al = new cloudwatch.Alarm(this, `${target.name}-${id}`, { alarmName: `${props.namePrefix}-${target.name}-${id}`, ...p });
      al.addAlarmAction(notify);
      al.addOkAction(notify);
      this.alarms.push(al);
    };
    const delivery = scheduleDelivery(props.role, props.deadLetterQueue);

    for (const target of props.targets) {
      // How often each task must succeed on this target: its own schedule, or the routines it is a step of.
      const expectedHours = new Map<string, number>();
      const expect = (task: string, hours: number) => expectedHours.set(task, Math.min(hours, expectedHours.get(task) ?? Infinity));

      for (const { task, fn } of props.functions.values()) {
        const custom = target.tasks[task.id]?.schedule;
        const cron = custom ?? task.schedule;
        if (!cron || !appliesTo(task, target, props.config)) continue;
        schedule(target, task.id, cron, custom !== undefined, scheduleTextOf(task), new LambdaInvoke(fn, { ...delivery, input: scheduler.ScheduleTargetInput.fromObject(scheduledEvent(task.id, target.name)) }));
        // Its longest gap between runs in this zone, DST included (lib/config/schedule-check.ts), the catalogue's or the target's own.
        if (target.tasks[task.id]?.enabled !== false) expect(task.id, silenceHours(cron, props.config.timeZone));
      }
      for (const routine of props.routines) {
        // The routine's schedules are the fleet's (infra/constructs/fleet-routine.ts): here only what its silence alarms expect.
        const custom = target.tasks[routine.id]?.schedule;
        if (target.tasks[routine.id]?.enabled === false) continue;
        for (const step of routine.steps) {
          if (target.tasks[step.task]?.enabled !== false && appliesTo(getTask(step.task), target, props.config)) expect(step.task, custom ? silenceHours(custom, props.config.timeZone) : routine.expectedEveryHours);
        }
      }

      // Silence is the worst failure: no success within the expected period (no data at all included) pages.
      for (const [task, hours] of expectedHours) {
        alarm(target, `${task}-not-succeeded`, {
          alarmDescription: `dbmaint ${task} has not succeeded on ${target.name} within ${hours} h (missing data counts: a run that never happened pages too).`,
          metric: targetMetric(ns, task, target.name, METRIC.TaskSucceeded.name, cloudwatch.Stats.SUM, Duration.hours(hours)),
          threshold: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: cloudwatch.TreatMissingData.BREACHING,
        });
      }

      // The alarms each task's catalogue entry asks for, on targets where the task is expected to run.
      for (const { task } of props.functions.values()) {
        if (!expectedHours.has(task.id)) continue;
        for (const id of task.alarms ?? []) {
          const spec = TASK_ALARMS[id]({ namespace: ns, task: task.id, target, settings: a });
          if (spec) alarm(target, id, spec);
        }
      }
    }
  }
}
