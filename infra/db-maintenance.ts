// The DbMaintenance construct: one function per catalogue task, routines as state machines, schedules and alarms per target, a dashboard — in any stack.
import { Annotations, ArnFormat, Duration, Fn, RemovalPolicy, Stack, TimeZone } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { StepFunctionsStartExecution } from 'aws-cdk-lib/aws-scheduler-targets';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cronExpression, ROUTINES, TASKS, type RoutineDefinition, type TaskDefinition } from '../lib/catalogue';
import { reservedConcurrencyOf, type SecretAccess } from '../lib/config/fleet';
import { routineBatches } from '../lib/config/routine-batches';
import type { DbMaintConfig } from '../lib/config/schema';
import { planSecretGrants } from '../lib/config/secret-grants';
import { MaintenanceDashboard } from './constructs/dashboard';
import { FailureAlarms } from './constructs/failure-alarms';
import { FleetRoutine } from './constructs/fleet-routine';
import { LongRunner } from './constructs/long-runner';
import { routineTimeoutHours } from '../lib/routines/window';
import { RoutineStateMachine } from './constructs/routine-state-machine';
import { TaskFunction } from './constructs/task-function';
import { scheduleDelivery, scheduleTimeWindow, TargetStack } from './constructs/target-stack';

export interface DbMaintenanceProps {
  readonly config: DbMaintConfig;
  /** Defaults to the task catalogue; tests may pass another list. */
  readonly tasks?: readonly TaskDefinition[];
  /** Repository root (entry files and package-lock.json live there). */
  readonly repoRoot: string;
  /** Prefix of function, schedule and alarm names. */
  readonly namePrefix?: string;
  /** At most this many targets' schedules and alarms per nested stack (CloudFormation allows 500 resources per stack). */
  readonly targetsPerNestedStack?: number;
}

function writeConfigForBundle(config: DbMaintConfig): string {
  const text = JSON.stringify(config, null, 2);
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 16);
  const dir = path.join(os.tmpdir(), 'dbmaint-synth');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `config-${hash}.json`);
  writeFileSync(file, text);
  return file;
}

function retentionDays(days: number): logs.RetentionDays {
  return days as logs.RetentionDays; // the config schema admits only values CloudWatch Logs accepts
}

export class DbMaintenance extends Construct {
  readonly functions: { task: TaskDefinition; fn: TaskFunction }[] = [];
  readonly alarmTopic: sns.Topic;
  readonly failureQueue: sqs.Queue;
  /** Customer-managed policies granting the targets' secrets (and their KMS keys), attached to every task function's role. */
  readonly secretAccessPolicies: iam.ManagedPolicy[] = [];
  /** The secret resources those policies match by pattern (a partial ARN's -??????, a name prefix's *, a tag's *): for cdk-nag. */
  readonly secretPatterns: { readonly resource: string; readonly mode: SecretAccess['mode'] }[] = [];
  readonly targetStacks: TargetStack[] = [];
  readonly routines: { routine: RoutineDefinition; stateMachine: RoutineStateMachine }[] = [];
  /** Per routine, the state machine its schedules start: every target's routine, a bounded number at a time. */
  readonly fleetRoutines: { routine: RoutineDefinition; stateMachine: sfn.StateMachine }[] = [];
  /** The Fargate long runner, when config.longRunner.enabled. */
  readonly longRunner?: LongRunner;

  /** The dashboards' names. */
  readonly dashboardNames: readonly string[];

  constructor(scope: Construct, id: string, props: DbMaintenanceProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const { config } = props;
    const tasks = props.tasks ?? TASKS;
    const prefix = props.namePrefix ?? 'dbmaint';

    this.failureQueue = new sqs.Queue(this, 'FailedInvocations', {
      queueName: `${prefix}-failed-invocations`,
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });

    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', { topicName: `${prefix}-alarms`, enforceSSL: true });
    // A topic policy replaces SNS's default one, and enforceSSL's holds only a Deny: without this Allow no alarm could
    // publish. Only CloudWatch, only for this account's alarms named with our prefix (every dbmaint alarm is).
    this.alarmTopic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowDbMaintAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.alarmTopic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: { 'aws:SourceArn': stack.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: `${prefix}-*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME }) },
        },
      }),
    );
    for (const email of config.alarms.email) this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(email));

    let vpc: ec2.IVpc | undefined;
    let subnets: ec2.ISubnet[] | undefined;
    let securityGroups: ec2.ISecurityGroup[] | undefined;
    if (config.network) {
      // Imported by id, never looked up: synth stays offline and needs no credentials.
      // The AZ list is required by the API but unused: subnets are selected explicitly below.
      vpc = ec2.Vpc.fromVpcAttributes(this, 'Vpc', { vpcId: config.network.vpcId, availabilityZones: Fn.getAzs() });
      Annotations.of(vpc).acknowledgeWarning('@aws-cdk/aws-ec2:vpcAttributeIsListTokenavailabilityZones', 'subnets are passed explicitly');
      subnets = config.network.subnetIds.map((id) => {
        const subnet = ec2.Subnet.fromSubnetId(this, `Subnet-${id}`, id);
        Annotations.of(subnet).acknowledgeWarning('@aws-cdk/aws-ec2:noSubnetRouteTableId', 'Lambda placement needs only the subnet id');
        return subnet;
      });
      securityGroups = config.network.securityGroupIds.map((id) =>
        ec2.SecurityGroup.fromSecurityGroupId(this, `Sg-${id}`, id, { mutable: false }),
      );
    }

    const configFile = writeConfigForBundle(config);

    for (const task of tasks) {
      const fn = new TaskFunction(this, `Task-${task.id}`, {
        task,
        functionName: `${prefix}-${task.id}`,
        repoRoot: props.repoRoot,
        configFile,
        logRetention: retentionDays(config.logRetentionDays),
        failureQueue: this.failureQueue,
        reservedConcurrentExecutions: reservedConcurrencyOf(config.fleet, task.id),
        bundling: config.bundling,
        ...(vpc ? { vpc, subnets, securityGroups } : {}),
      });
      if (task.sendsMail && config.reports) {
        const from = config.reports.from;
        const domain = from.split('@')[1]!;
        fn.function.addToRolePolicy(
          new iam.PolicyStatement({
            actions: ['ses:SendEmail', 'ses:SendRawEmail'],
            // Either the address or its domain may be the verified identity.
            resources: [
              stack.formatArn({ service: 'ses', resource: 'identity', resourceName: from }),
              stack.formatArn({ service: 'ses', resource: 'identity', resourceName: domain }),
            ],
            conditions: { StringEquals: { 'ses:FromAddress': from } },
          }),
        );
      }
      this.functions.push({ task, fn });
    }

    // Opt-in (config longRunner): rebuilds too large for one invocation run on Fargate in the same VPC (docs/long-runner.md).
    if (config.longRunner.enabled && vpc && subnets && securityGroups) {
      this.longRunner = new LongRunner(this, 'LongRunner', {
        repoRoot: props.repoRoot,
        configFile,
        namePrefix: prefix,
        vpc,
        subnets,
        securityGroups,
        cpu: config.longRunner.cpu,
        memoryMiB: config.longRunner.memoryMiB,
        logRetention: retentionDays(config.logRetentionDays),
      });
    }

    // Shared by every function and listed once, not per role: ten roles each listing every secret outgrew IAM's limits.
    // The config's validation has already refused a fleet whose grants do not fit (lib/config/secret-grants.ts).
    const roles: iam.IRole[] = [...this.functions.map(({ fn }) => fn.function.role!), ...(this.longRunner ? [this.longRunner.taskRole] : [])];
    planSecretGrants(config, config.fleet.secretAccess).forEach((statements, i) => {
      for (const r of statements.flatMap((s) => s.Resource)) {
        if (/^arn:[^:]+:secretsmanager:/.test(r) && /[*?]/.test(r)) this.secretPatterns.push({ resource: r, mode: config.fleet.secretAccess.mode });
      }
      this.secretAccessPolicies.push(
        new iam.ManagedPolicy(this, `SecretAccess${i}`, {
          description: `dbmaint: read the targets' database secrets (${config.fleet.secretAccess.mode}, part ${i + 1})`,
          statements: statements.map((s) => iam.PolicyStatement.fromJson(s)),
          roles,
        }),
      );
    });

    // Deleted with the stack (it holds only this stack's schedules), so a redeploy can create it again under its name.
    const groupResource = new scheduler.ScheduleGroup(this, 'ScheduleGroup', { scheduleGroupName: prefix, removalPolicy: RemovalPolicy.DESTROY });
    // ScheduleGroup.scheduleGroupName is the literal name: nested stacks using it would not wait for the group.
    // Its Ref (the same name, resolved by CloudFormation) makes every nested stack depend on it.
    const group = scheduler.ScheduleGroup.fromScheduleGroupName(this, 'ScheduleGroupRef', (groupResource.node.defaultChild as scheduler.CfnScheduleGroup).ref);
    const schedulerRole = new iam.Role(this, 'SchedulerRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
      description: 'EventBridge Scheduler invokes the dbmaint task functions and starts the routines',
    });

    const byId = new Map(this.functions.map(({ task, fn }) => [task.id, { task, fn: fn.function }]));
    // A routine needs every one of its steps' functions (tests may synthesize a subset of the catalogue).
    for (const routine of ROUTINES.filter((r) => r.steps.every((s) => byId.has(s.task)))) {
      this.routines.push({
        routine,
        stateMachine: new RoutineStateMachine(this, `Routine-${routine.id}`, {
          routine,
          functionOf: (id) => byId.get(id)!.fn,
          namePrefix: prefix,
          logRetention: retentionDays(config.logRetentionDays),
          timeoutHours: routineTimeoutHours(config, routine),
          ...(this.longRunner ? { longRunner: this.longRunner } : {}),
        }),
      });
    }

    // Each routine's schedules start its fleet execution, one per batch of targets sharing a schedule: the fleet's
    // Map runs at most fleet.maxRoutinesInFlight targets' routines at a time, and one at a time per server.
    for (const r of this.routines) {
      const batches = routineBatches(config, r.routine);
      if (batches.length === 0) continue;
      const fleet = new FleetRoutine(this, `Fleet-${r.routine.id}`, {
        routine: r.routine,
        routineStateMachine: r.stateMachine.stateMachine,
        batches,
        maxRoutinesInFlight: config.fleet.maxRoutinesInFlight,
        namePrefix: prefix,
        logRetention: retentionDays(config.logRetentionDays),
        routineTimeoutHours: routineTimeoutHours(config, r.routine),
      });
      this.fleetRoutines.push({ routine: r.routine, stateMachine: fleet.stateMachine });
      for (const batch of batches) {
        const targets = batch.servers.reduce((n, g) => n + g.targets.length, 0);
        new scheduler.Schedule(this, `Fleet-${r.routine.id}-${batch.id}`, {
          scheduleName: `${prefix}-${r.routine.id}-${batch.id}`.slice(0, 64),
          description: `${r.routine.id} on ${targets} target(s): ${batch.custom ? 'custom schedule' : r.routine.scheduleText}`,
          scheduleGroup: group,
          schedule: scheduler.ScheduleExpression.expression(cronExpression(batch.cron), TimeZone.of(config.timeZone)),
          timeWindow: scheduleTimeWindow(config.fleet.flexibleWindowMinutes),
          target: new StepFunctionsStartExecution(fleet.stateMachine, {
            ...scheduleDelivery(schedulerRole, this.failureQueue),
            input: scheduler.ScheduleTargetInput.fromObject({ batch: batch.id }),
          }),
        });
      }
    }

    const perStack = props.targetsPerNestedStack ?? 20;
    for (let i = 0; i * perStack < config.targets.length; i++) {
      this.targetStacks.push(
        new TargetStack(this, `Targets${i}`, {
          config,
          targets: config.targets.slice(i * perStack, (i + 1) * perStack),
          functions: byId,
          routines: this.routines.map((r) => r.routine),
          group,
          role: schedulerRole,
          deadLetterQueue: this.failureQueue,
          topic: this.alarmTopic,
          namePrefix: prefix,
        }),
      );
    }

    new FailureAlarms(this, 'Alarms', {
      namespace: config.metricNamespace,
      topic: this.alarmTopic,
      functions: this.functions.map(({ task, fn }) => ({ task, fn: fn.function })),
      failureQueue: this.failureQueue,
      namePrefix: prefix,
    });

    const dashboard = new MaintenanceDashboard(this, 'Dashboard', { config, tasks, namePrefix: prefix });

    this.dashboardNames = dashboard.names;
  }
}
