// A routine across the fleet: one execution per schedule runs every target's routine, a bounded number at a time, one per server.
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import type { RoutineDefinition } from '../../lib/catalogue';
import type { RoutineBatch } from '../../lib/config/routine-batches';

export interface FleetRoutineProps {
  readonly routine: RoutineDefinition;
  /** The per-target routine (input `{ target }`), started once per target. */
  readonly routineStateMachine: sfn.IStateMachine;
  readonly batches: readonly RoutineBatch[];
  /** fleet.maxRoutinesInFlight: the outer Map's MaxConcurrency. */
  readonly maxRoutinesInFlight: number;
  readonly namePrefix: string;
  readonly logRetention: logs.RetentionDays;
  /** The per-target routine's own timeout (hours). */
  readonly routineTimeoutHours: number;
}

/** The state that starts one target's routine and waits for it: its name, for tests that serve it. */
export const RUN_TARGET_STATE = 'RunTargetRoutine';

/**
 * Input `{ batch }` (what the batch's schedule passes). A Choice picks the batch's server groups, which live in the
 * definition (not in the schedule's input, whose size Scheduler limits); the outer Map runs up to `maxRoutinesInFlight`
 * server groups at a time, the inner one a group's targets one after another. A target's routine that fails or times
 * out is recorded and the others go on. Each iteration returns only `{ target, status }`: 500 targets stay far
 * inside the 256 KiB state quota.
 */
export class FleetRoutine extends Construct {
  readonly stateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string, props: FleetRoutineProps) {
    super(scope, id);
    const { routine } = props;

    const run = new tasks.StepFunctionsStartExecution(this, RUN_TARGET_STATE, {
      stateMachine: props.routineStateMachine,
      integrationPattern: sfn.IntegrationPattern.RUN_JOB,
      // The maintenance window opens when this execution started: the targets of one server share it, one after another.
      input: sfn.TaskInput.fromObject({ target: sfn.JsonPath.stringAt('$.target'), windowStartedAt: sfn.JsonPath.stringAt('$$.Execution.StartTime') }),
      associateWithParent: true,
      resultSelector: { status: sfn.JsonPath.stringAt('$.Status') },
      resultPath: '$.routine',
      // The child's own timeout (its window and one invocation of each step) bounds it; this is only the backstop.
      taskTimeout: sfn.Timeout.duration(Duration.hours(props.routineTimeoutHours + 1)),
    });
    run.addRetry({ errors: ['StepFunctions.ExecutionLimitExceededException', 'StepFunctions.SdkClientException'], interval: Duration.seconds(5), backoffRate: 2, maxAttempts: 5, jitterStrategy: sfn.JitterType.FULL });
    const failed = new sfn.Pass(this, 'TargetRoutineFailed', {
      parameters: { target: sfn.JsonPath.stringAt('$.target'), status: 'FAILED', error: sfn.JsonPath.stringAt('$.error.Error') },
    });
    run.addCatch(failed, { errors: [sfn.Errors.ALL], resultPath: '$.error' });
    const ran = new sfn.Pass(this, 'TargetRoutineDone', {
      parameters: { target: sfn.JsonPath.stringAt('$.target'), status: sfn.JsonPath.stringAt('$.routine.status') },
    });
    run.next(ran);

    const perServer = new sfn.Map(this, 'TargetsOfServer', {
      itemsPath: '$.targets',
      maxConcurrency: 1,
      itemSelector: { target: sfn.JsonPath.stringAt('$$.Map.Item.Value') },
      resultPath: '$.results',
    });
    perServer.itemProcessor(run);
    const servers = new sfn.Map(this, 'Servers', {
      itemsPath: '$.fleet.servers',
      maxConcurrency: props.maxRoutinesInFlight,
      itemSelector: { server: sfn.JsonPath.stringAt('$$.Map.Item.Value.server'), targets: sfn.JsonPath.listAt('$$.Map.Item.Value.targets') },
      resultSelector: { servers: sfn.JsonPath.listAt('$[*].server'), results: sfn.JsonPath.listAt('$[*].results[*]') },
      resultPath: '$.done',
    });
    servers.itemProcessor(perServer);
    const outputs = new sfn.Pass(this, 'Summary', {
      parameters: { batch: sfn.JsonPath.stringAt('$.batch'), results: sfn.JsonPath.listAt('$.done.results') },
    });
    servers.next(outputs);

    const choose = new sfn.Choice(this, 'Batch');
    for (const batch of props.batches) {
      const pick = new sfn.Pass(this, `Batch-${batch.id}`, {
        result: sfn.Result.fromObject({ servers: batch.servers.map((g) => ({ server: g.server, targets: [...g.targets] })) }),
        resultPath: '$.fleet',
      });
      choose.when(sfn.Condition.stringEquals('$.batch', batch.id), pick);
      pick.next(servers);
    }
    choose.otherwise(new sfn.Fail(this, 'UnknownBatch', { error: 'UnknownBatch', cause: `no such batch of ${routine.id}: the schedules pass b0…b${props.batches.length - 1}` }));

    const logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: `/aws/vendedlogs/states/${props.namePrefix}-${routine.id}-fleet`,
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName: `${props.namePrefix}-${routine.id}-fleet`,
      comment: `${routine.title} on every target: at most ${props.maxRoutinesInFlight} at a time, one at a time per server`,
      definitionBody: sfn.DefinitionBody.fromChainable(choose),
      // Ends before the next day's (week's) execution of the same batch starts, so two never overlap and double the bound.
      timeout: Duration.hours(Math.max(1, routine.expectedEveryHours - 3)),
      tracingEnabled: true,
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });
  }
}
