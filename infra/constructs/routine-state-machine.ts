// A routine as a Step Functions state machine: the catalogue's steps in order, each its task's own function, failures caught and passed on.
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import type { RoutineDefinition } from '../../lib/catalogue';
import { SERVER_BUSY_ERROR } from '../../lib/tasks/server-lock';
import { tasksWhere } from '../../lib/catalogue';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import type { LongRunner } from './long-runner';

export interface RoutineStateMachineProps {
  readonly routine: RoutineDefinition;
  readonly functionOf: (taskId: string) => lambda.IFunction;
  readonly namePrefix: string;
  readonly logRetention: logs.RetentionDays;
  /** The execution's timeout: the longest maintenance window of any target plus one invocation of every step (lib/routines/window.ts). */
  readonly timeoutHours: number;
  /** The Fargate long runner: the rebuild steps start it when their result asks (lib/routines/window.ts). */
  readonly longRunner?: LongRunner;
}

/** The steps whose result may ask for the long runner: the rebuilds. */
const LONG_RUNNER_TASKS: readonly string[] = tasksWhere((t) => t.capability === 'rebuild');

/** Errors a step is retried on with exponential backoff: an unreachable database. */
const TRANSIENT_ERRORS = ['DatabaseConnectError'] as const;

/** Lambda refused the invocation for lack of concurrency (reserved or the account's): wait for capacity. */
const THROTTLE_ERRORS = ['Lambda.TooManyRequestsException'] as const;

/** The Invoke call itself failed in Lambda or the SDK: retried briefly (every task is safe to run twice, GET_LOCK guards). */
const LAMBDA_SERVICE_ERRORS = ['Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException', 'Lambda.ClientExecutionTimeoutException'] as const;

/**
 * Throttle retries: 10 s doubling to at most 5 min, 10 attempts, so a step waits up to about 30 min in all (the sum of the
 * delays; with full jitter each delay is drawn from [0, delay], half that on average) before it is recorded as failed.
 * Jitter keeps a fleet's throttled routines from retrying in lockstep.
 */
const THROTTLE_RETRY = { interval: Duration.seconds(10), backoffRate: 2, maxDelay: Duration.minutes(5), maxAttempts: 10 } as const;

/**
 * Another target's heavy task holds the database server (lib/tasks/server-lock.ts): the step waits for it. Not a transient
 * fault, so not in TRANSIENT_ERRORS: its own, longer schedule, sized by the holder's work rather than a network blip.
 */
const SERVER_BUSY_ERRORS = [SERVER_BUSY_ERROR] as const;

/**
 * Server-busy retries: 60 s growing ×1.5 to at most 10 min, 7 attempts: delays 60, 90, 135, 202.5, 303.75, 455.6, 600 s, so
 * at most 1,847 s (30.8 min) in all, and with full jitter about half that on average (923 s): about one heavy step's budget
 * (870 s), the longest a holder keeps the lock in one invocation. A holder running two heavy steps back to back can outlast
 * it; the step is then caught and reported as failed with the holder named, and the next routine run does the work.
 */
const SERVER_BUSY_RETRY = { interval: Duration.seconds(60), backoffRate: 1.5, maxDelay: Duration.minutes(10), maxAttempts: 7 } as const;

export class RoutineStateMachine extends Construct {
  readonly stateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string, props: RoutineStateMachineProps) {
    super(scope, id);
    const { routine } = props;
    const outcome = (i: number) => `$.outcomes.s${i}`;
    let chain: sfn.IChainable | undefined;
    let tail: sfn.INextable | undefined;
    const append = (first: sfn.IChainable & sfn.INextable, last: sfn.INextable = first) => {
      if (tail) tail.next(first);
      else chain = first;
      tail = last;
    };

    // The window opens when the fleet execution started (it passes windowStartedAt), else when this execution did.
    const windowStart = new sfn.Choice(this, 'WindowStart');
    const fromExecution = new sfn.Pass(this, 'WindowFromExecution', { parameters: { 'value.$': '$$.Execution.StartTime' }, resultPath: '$.windowOpened' });
    const fromFleet = new sfn.Pass(this, 'WindowFromFleet', { parameters: { 'value.$': '$.windowStartedAt' }, resultPath: '$.windowOpened' });
    // Every step starts with no invocation yet: its payload reads the counts from here, its result replaces them.
    const counts = new sfn.Pass(this, 'Window', {
      result: sfn.Result.fromObject(Object.fromEntries(routine.steps.map((_, i) => [`s${i}`, { invocations: 0, secondsSoFar: 0 }]))),
      resultPath: '$.outcomes',
    });
    windowStart.when(sfn.Condition.isPresent('$.windowStartedAt'), fromFleet).otherwise(fromExecution);
    fromFleet.next(counts);
    fromExecution.next(counts);
    chain = windowStart;
    tail = counts;

    routine.steps.forEach((step, i) => {
      const isLast = i === routine.steps.length - 1;
      const invoke = new tasks.LambdaInvoke(this, `Step${i + 1}-${step.task}`, {
        lambdaFunction: props.functionOf(step.task),
        payload: sfn.TaskInput.fromObject({
          source: 'dbmaint.routine',
          task: step.task,
          routine: {
            id: routine.id,
            execution: sfn.JsonPath.stringAt('$$.Execution.Id'),
            startedAt: sfn.JsonPath.stringAt('$.windowOpened.value'),
            invocations: sfn.JsonPath.numberAt(`${outcome(i)}.invocations`),
            secondsSoFar: sfn.JsonPath.numberAt(`${outcome(i)}.secondsSoFar`),
          },
          target: sfn.JsonPath.stringAt('$.target'),
          maxRunSeconds: step.budgetSeconds,
          // The last step (the report) is told every earlier outcome, failures included.
          ...(isLast ? { steps: sfn.JsonPath.stringAt(`States.Array(${routine.steps.slice(0, i).map((_, j) => outcome(j)).join(', ')})`) } : {}),
        }),
        payloadResponseOnly: true,
        resultSelector: {
          task: step.task,
          status: sfn.JsonPath.stringAt('$.status'),
          runId: sfn.JsonPath.stringAt('$.runId'),
          durationSeconds: sfn.JsonPath.numberAt('$.durationSeconds'),
          // Every routine step's result carries its window (lib/tasks/run-task.ts), `left` null when nothing is.
          invocations: sfn.JsonPath.numberAt('$.window.invocation'),
          secondsSoFar: sfn.JsonPath.numberAt('$.window.secondsSoFar'),
          again: sfn.JsonPath.stringAt('$.window.again'),
          left: sfn.JsonPath.stringAt('$.window.left'),
          longRunner: sfn.JsonPath.objectAt('$.window.longRunner'),
        },
        resultPath: outcome(i),
        taskTimeout: sfn.Timeout.duration(Duration.minutes(16)),
        // CDK's default retrier has no jitter and leaves out throttling; the two below replace it.
        retryOnServiceExceptions: false,
      });
      invoke.addRetry({ errors: [...THROTTLE_ERRORS], ...THROTTLE_RETRY, jitterStrategy: sfn.JitterType.FULL });
      invoke.addRetry({ errors: [...LAMBDA_SERVICE_ERRORS], interval: Duration.seconds(2), backoffRate: 2, maxAttempts: 6, jitterStrategy: sfn.JitterType.FULL });
      invoke.addRetry({ errors: [...TRANSIENT_ERRORS], interval: Duration.seconds(30), backoffRate: 2, maxAttempts: 3, jitterStrategy: sfn.JitterType.FULL });
      // Retriers are matched in order and before any Catch: a busy server waits here instead of falling into States.ALL.
      invoke.addRetry({ errors: [...SERVER_BUSY_ERRORS], ...SERVER_BUSY_RETRY, jitterStrategy: sfn.JitterType.FULL });
      // A failed step is recorded and the routine goes on: one failing step does not stop the others.
      const failed = new sfn.Pass(this, `Step${i + 1}-${step.task}-failed`, {
        parameters: { task: step.task, status: 'failed', error: sfn.JsonPath.stringAt(`$.errors.s${i}.Cause`) },
        resultPath: outcome(i),
      });
      invoke.addCatch(failed, { errors: [sfn.Errors.ALL], resultPath: `$.errors.s${i}` });
      const joined = new sfn.Pass(this, `Step${i + 1}-${step.task}-done`);
      // Stopped with work left and the window still fits another invocation (the task decided: `again`): invoke it again now.
      const again = new sfn.Choice(this, `Step${i + 1}-${step.task}-again`);
      again.when(sfn.Condition.and(sfn.Condition.isPresent(`${outcome(i)}.again`), sfn.Condition.booleanEquals(`${outcome(i)}.again`, true)), invoke);
      if (props.longRunner && LONG_RUNNER_TASKS.includes(step.task)) {
        // A table too large for one invocation, and the window has time for it: the same task on Fargate, waited for.
        const long = `$.outcomes.s${i}.longRunner`;
        again.when(sfn.Condition.isPresent(`${long}.seconds`), this.longRun(props.longRunner, i, step.task, joined));
      }
      again.otherwise(joined);
      invoke.next(again);
      failed.next(again);
      append(invoke, joined);
    });

    const logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: `/aws/vendedlogs/states/${props.namePrefix}-${routine.id}`,
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName: `${props.namePrefix}-${routine.id}`,
      comment: `${routine.title}: ${routine.description}`,
      definitionBody: sfn.DefinitionBody.fromChainable(chain!),
      timeout: Duration.hours(props.timeoutHours),
      tracingEnabled: true,
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });
  }

  /** Step i's long run: ecs:runTask.sync with the step's event and budget in the container's environment; a failure is recorded and the routine goes on. */
  private longRun(runner: LongRunner, i: number, task: string, next: sfn.IChainable): sfn.IChainable {
    const long = `$.outcomes.s${i}.longRunner`;
    const run = new tasks.EcsRunTask(this, `Step${i + 1}-${task}-long-runner`, {
      integrationPattern: sfn.IntegrationPattern.RUN_JOB,
      cluster: runner.cluster,
      taskDefinition: runner.taskDefinition,
      launchTarget: new tasks.EcsFargateLaunchTarget({ platformVersion: ecs.FargatePlatformVersion.LATEST }),
      subnets: { subnets: [...runner.subnets] },
      securityGroups: [...runner.securityGroups],
      assignPublicIp: false,
      containerOverrides: [
        {
          containerDefinition: runner.container,
          environment: [
            { name: 'DBMAINT_EVENT', value: sfn.JsonPath.jsonToString(sfn.JsonPath.objectAt(`${long}.event`)) },
            { name: 'DBMAINT_BUDGET_SECONDS', value: sfn.JsonPath.format('{}', sfn.JsonPath.stringAt(`${long}.seconds`)) },
          ],
        },
      ],
      // The run's own record is in the task-run table (the reports read it); the state keeps only how the task ended.
      resultSelector: { exitCode: sfn.JsonPath.stringAt('$.Containers[0].ExitCode'), stoppedReason: sfn.JsonPath.stringAt('$.StoppedReason') },
      resultPath: `$.longRuns.s${i}`,
      // Its budget ends inside the window; this is only the backstop.
      taskTimeout: sfn.Timeout.duration(Duration.hours(21)),
    });
    run.addRetry({ errors: ['ECS.AmazonECSException', 'ECS.ServerException', 'ECS.ThrottlingException'], interval: Duration.seconds(10), backoffRate: 2, maxAttempts: 4, jitterStrategy: sfn.JitterType.FULL });
    const failed = new sfn.Pass(this, `Step${i + 1}-${task}-long-runner-failed`, {
      parameters: { status: 'failed', error: sfn.JsonPath.stringAt(`$.errors.long${i}.Cause`) },
      resultPath: `$.longRuns.s${i}`,
    });
    run.addCatch(failed, { errors: [sfn.Errors.ALL], resultPath: `$.errors.long${i}` });
    run.next(next);
    failed.next(next);
    return run;
  }

}
