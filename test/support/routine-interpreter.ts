// Runs a routine's synthesized state machine in an ASL interpreter, each Lambda task served in-process by its real handler, with Step Functions' payload quota enforced.
import path from 'node:path';
import type { Template } from 'aws-cdk-lib/assertions';
import type { Context } from 'aws-lambda';
import { getTask, type TaskId } from '../../lib/catalogue';
import { lambdaContext } from '../../dev/lambda-context';
import { useDependencies, type HandlerDependencies } from '../../functions/lambda-handler';
import type { TaskRunResult } from '../../lib/tasks/task-module';
import { repoRoot } from './synth';

// Node 20 lacks Promise.withResolvers, which the interpreter uses (Node 22+).
const P = Promise as unknown as { withResolvers?: unknown };
if (!P.withResolvers) {
  P.withResolvers = function withResolvers<T>() {
    let resolve!: (v: T) => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

/** Step Functions' quota on a state's input, output and a task's result: 256 KiB of UTF-8 JSON. */
export const STATE_PAYLOAD_QUOTA_BYTES = 256 * 1024;

export interface AslState {
  readonly Type: string;
  readonly Resource?: string;
  readonly Parameters?: Record<string, unknown>;
  readonly Next?: string;
}
export interface AslDefinition {
  readonly StartAt: string;
  readonly States: Record<string, AslState>;
}

const PLACEHOLDER_ARN = 'arn:aws:lambda:eu-central-1:123456789012:function:dbmaint-placeholder';
const PLACEHOLDER_STATE_MACHINE_ARN = 'arn:aws:states:eu-central-1:123456789012:stateMachine:dbmaint-placeholder';
const PSEUDO: Record<string, string> = { 'AWS::Partition': 'aws', 'AWS::Region': 'eu-central-1', 'AWS::AccountId': '123456789012', 'AWS::URLSuffix': 'amazonaws.com' };

/** A CloudFormation part of a definition: pseudo parameters as in eu-central-1; a Ref (a state machine's ARN) and a GetAtt (a function's) as placeholders. */
function placeholderOf(part: unknown): string {
  if (typeof part === 'string') return part;
  const ref = (part as { Ref?: string }).Ref;
  if (ref !== undefined) return PSEUDO[ref] ?? PLACEHOLDER_STATE_MACHINE_ARN;
  return PLACEHOLDER_ARN;
}

/** A state machine's ASL from the synthesized template: CloudFormation joins it from strings and function ARNs, which become placeholders. */
export function definitionFromTemplate(template: Template, stateMachineName: string): AslDefinition {
  const sm = Object.values(template.findResources('AWS::StepFunctions::StateMachine')).find(
    (r) => (r as { Properties: { StateMachineName?: string } }).Properties.StateMachineName === stateMachineName,
  ) as { Properties: { DefinitionString: string | { 'Fn::Join': [string, unknown[]] } } } | undefined;
  if (!sm) throw new Error(`no state machine named ${stateMachineName} in the template`);
  const d = sm.Properties.DefinitionString;
  const text = typeof d === 'string' ? d : d['Fn::Join'][1].map(placeholderOf).join(d['Fn::Join'][0]);
  return JSON.parse(text) as AslDefinition;
}

export interface SizeRecord {
  /** Largest state input or output seen (bytes). */
  readonly maxStateBytes: number;
  readonly maxStateName: string;
  /** Largest Lambda response a task state received (bytes): the quota applies to it before ResultSelector trims it. */
  readonly maxTaskResultBytes: number;
  readonly maxTaskResultState: string;
}


type Handler = (event: unknown, context: Context) => Promise<TaskRunResult>;

async function handlerOf(task: TaskId): Promise<Handler> {
  return ((await import(path.join(repoRoot, getTask(task).handlerFile))) as { handler: Handler }).handler;
}

const bytes = (v: unknown) => Buffer.byteLength(JSON.stringify(v ?? null));

/** What a generic execution reports: sizes and quota violations, and how it ended. */
export interface InterpretedMachine extends SizeRecord {
  readonly status: 'succeeded' | 'failed' | 'aborted';
  readonly output: unknown;
  readonly error?: string;
  /** Every quota violation (the service would fail the execution with States.DataLimitExceeded, which no Catch takes). */
  readonly violations: readonly string[];
}

export interface InterpretedExecution extends InterpretedMachine {
  /** Each task state's raw handler response, by state name (the last one when retried). */
  readonly taskResults: Readonly<Record<string, TaskRunResult>>;
}

/**
 * Execute `definition` with `input`, each Task state named in `handlers` served by its handler (nested in Map states
 * too), Step Functions' payload quota checked on every state's input and output and on every handler's result.
 */
export async function interpretStateMachine(
  definition: AslDefinition,
  input: Record<string, unknown>,
  handlers: Readonly<Record<string, (event: unknown) => Promise<unknown>>>,
  opts: { readonly executionName?: string; readonly stateMachineName?: string } = {},
): Promise<InterpretedMachine> {
  const { StateMachine } = await import('aws-local-stepfunctions');
  const violations: string[] = [];
  let maxState = { bytes: 0, name: '' };
  let maxTask = { bytes: 0, name: '' };
  let abort: (() => void) | undefined;
  const served: Record<string, (event: unknown) => Promise<unknown>> = {};
  const retryOverrides: Record<string, number> = {};
  for (const [name, handler] of Object.entries(handlers)) {
    retryOverrides[name] = 0;
    served[name] = async (event: unknown) => {
      const out = await handler(event);
      const size = bytes(out);
      if (size > maxTask.bytes) maxTask = { bytes: size, name };
      if (size > STATE_PAYLOAD_QUOTA_BYTES) {
        violations.push(`${name}: the task's result is ${size} bytes (quota ${STATE_PAYLOAD_QUOTA_BYTES})`);
        abort?.();
      }
      return out;
    };
  }
  const machine = new StateMachine(definition as never, { validationOptions: { checkArn: false } });
  const execName = opts.executionName ?? `interp-${Date.now()}`;
  const smName = opts.stateMachineName ?? 'routine';
  const execution = machine.run(input as never, {
    overrides: { taskResourceLocalHandlers: served as never, retryIntervalOverrides: retryOverrides },
    noThrowOnAbort: true,
    context: {
      Execution: { Id: `arn:aws:states:eu-central-1:123456789012:execution:${smName}:${execName}`, Name: execName, Input: input, StartTime: new Date().toISOString() },
      StateMachine: { Id: `arn:aws:states:eu-central-1:123456789012:stateMachine:${smName}`, Name: smName },
    } as never,
  });
  abort = execution.abort;
  const watch = (async () => {
    for await (const ev of execution.eventLogs) {
      const e = ev as { type: string; state?: { name: string; input?: unknown; output?: unknown } };
      if (!e.state) continue;
      for (const [kind, value] of [['input', e.state.input], ['output', e.state.output]] as const) {
        if (value === undefined) continue;
        const size = bytes(value);
        if (size > maxState.bytes) maxState = { bytes: size, name: `${e.state.name} (${kind})` };
        if (size > STATE_PAYLOAD_QUOTA_BYTES) {
          violations.push(`${e.state.name}: state ${kind} is ${size} bytes (quota ${STATE_PAYLOAD_QUOTA_BYTES})`);
          execution.abort();
        }
      }
    }
  })();
  let status: InterpretedMachine['status'] = 'succeeded';
  let output: unknown;
  let error: string | undefined;
  try {
    output = await execution.result;
    if (output === null && violations.length > 0) status = 'aborted';
  } catch (err) {
    status = 'failed';
    error = (err as Error).message;
  }
  await watch.catch(() => undefined);
  return {
    status,
    output,
    ...(error !== undefined ? { error } : {}),
    violations,
    maxStateBytes: maxState.bytes,
    maxStateName: maxState.name,
    maxTaskResultBytes: maxTask.bytes,
    maxTaskResultState: maxTask.name,
  };
}

/**
 * Execute a routine's `definition` with `input`. Every Task state whose Parameters name a catalogue task is served by
 * that task's handler with a Lambda-shaped context; `deps` replace the handler's production dependencies for the run.
 */
export async function interpretRoutine(
  definition: AslDefinition,
  input: Record<string, unknown>,
  deps: HandlerDependencies,
  opts: {
    readonly executionName?: string;
    readonly stateMachineName?: string;
    /** Further Task states served by these (an ECS task, say), by state name. */
    readonly handlers?: Readonly<Record<string, (input: unknown) => Promise<unknown>>>;
  } = {},
): Promise<InterpretedExecution> {
  const taskResults: Record<string, TaskRunResult> = {};
  const handlers: Record<string, (event: unknown) => Promise<unknown>> = { ...opts.handlers };
  for (const [name, state] of Object.entries(definition.States)) {
    const task = state.Parameters?.['task'];
    if (state.Type !== 'Task' || typeof task !== 'string') continue;
    handlers[name] = async (event: unknown) => {
      const handler = await handlerOf(task as TaskId);
      const out = await handler(event, lambdaContext(`dbmaint-${task}`, getTask(task as TaskId).timeoutSeconds * 1000));
      taskResults[name] = out;
      return out;
    };
  }
  const restore = useDependencies(deps);
  try {
    return { ...(await interpretStateMachine(definition, input, handlers, opts)), taskResults };
  } finally {
    restore();
  }
}
