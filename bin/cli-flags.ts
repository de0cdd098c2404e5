// The local runner's command line: every flag checked by the task's own payload schema (one rule per field), named when refused.
import { parseArgs } from 'node:util';
import * as z from 'zod';
import { isRoutineId, isTaskId, ROUTINE_IDS, TASK_IDS, type TaskId } from '../lib/catalogue';
import { baseEventShape } from '../lib/events/schema';
import { TASK_MODULES } from '../lib/tasks/registry';
import { UsageError } from './local-runner';

/** Flags that become payload fields, and the field each sets. */
const PAYLOAD_FLAGS = {
  'dry-run': 'dryRun',
  target: 'target',
  tables: 'tables',
  force: 'force',
  'max-run-seconds': 'maxRunSeconds',
  'days-old': 'daysOld',
} as const;
type PayloadFlag = keyof typeof PAYLOAD_FLAGS;

const OPTIONS = {
  'dry-run': { type: 'boolean' },
  json: { type: 'boolean' },
  config: { type: 'string' },
  target: { type: 'string' },
  tables: { type: 'string' },
  force: { type: 'boolean' },
  'max-run-seconds': { type: 'string' },
  'days-old': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;
type Flag = keyof typeof OPTIONS;

const NUMERIC: ReadonlySet<Flag> = new Set(['max-run-seconds', 'days-old']);
/** A plain decimal number as typed; anything else goes to the schema as text, which refuses it as "expected number". */
const NUMBER_TEXT = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** What the command line asks for; the payload is already valid for the task's schema (target existence aside). */
export type CommandLine =
  | { readonly kind: 'help' }
  | { readonly kind: 'list' }
  | { readonly kind: 'cost'; readonly json: boolean; readonly config?: string }
  | { readonly kind: 'task'; readonly task: TaskId; readonly json: boolean; readonly config?: string; readonly event: Readonly<Record<string, unknown>> }
  | { readonly kind: 'routine'; readonly routine: string; readonly json: boolean; readonly config?: string; readonly target?: string; readonly dryRun: boolean };

function fieldToFlag(field: unknown): PayloadFlag | undefined {
  return (Object.keys(PAYLOAD_FLAGS) as PayloadFlag[]).find((f) => PAYLOAD_FLAGS[f] === field);
}

function tasksAccepting(field: string): TaskId[] {
  return TASK_IDS.filter((t) => field in TASK_MODULES[t].eventSchema.shape);
}

/** Zod issues of a payload built from flags → one line per flag, with the value as typed. */
function flagIssues(error: z.ZodError, typed: ReadonlyMap<PayloadFlag, string | boolean>, command: string): string[] {
  return error.issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((k) => {
        const flag = fieldToFlag(k);
        return `--${flag ?? k}: not an option of ${command} (${tasksAccepting(k).join(', ') || 'no task'} only)`;
      });
    }
    const flag = fieldToFlag(issue.path[0]);
    const value = flag ? typed.get(flag) : undefined;
    const shown = typeof value === 'string' ? ` ${JSON.stringify(value)}` : '';
    const item = typeof issue.path[1] === 'number' ? ` (item ${issue.path[1] + 1})` : '';
    return [`--${flag ?? String(issue.path[0])}${shown}${item}: ${issue.message}`];
  });
}

function refuse(lines: readonly string[]): never {
  throw new UsageError(lines.join('\n'));
}

/** Parse argv; throws UsageError naming each bad flag (unknown, repeated, missing or unexpected value, invalid for the task). */
export function parseCommandLine(argv: readonly string[]): CommandLine {
  // Non-strict so that every problem is reported as ours, with the flag named, never as a Node TypeError.
  const { tokens } = parseArgs({ args: [...argv], allowPositionals: true, strict: false, tokens: true, options: OPTIONS });
  const problems: string[] = [];
  const given = new Map<Flag, string | boolean>();
  const positionals: string[] = [];
  for (const t of tokens) {
    if (t.kind === 'positional') {
      positionals.push(t.value);
      continue;
    }
    if (t.kind === 'option-terminator') continue;
    const name = t.name as Flag;
    const spec = OPTIONS[name] as { type: 'string' | 'boolean' } | undefined;
    if (!spec) {
      problems.push(`${t.rawName}: unknown flag`);
      continue;
    }
    if (given.has(name)) {
      problems.push(`--${name}: given twice`);
      continue;
    }
    if (spec.type === 'boolean') {
      if (t.value !== undefined) problems.push(`--${name}: takes no value (got ${JSON.stringify(t.value)})`);
      else given.set(name, true);
    } else if (t.value === undefined || (!t.inlineValue && t.value.startsWith('--'))) {
      problems.push(`--${name}: needs a value`);
    } else {
      given.set(name, t.value);
    }
  }
  if (problems.length) refuse(problems);
  if (given.get('help') === true) return { kind: 'help' };

  const [command, ...extra] = positionals;
  if (command === undefined) refuse(['a task or routine id is required (npm run dbmaint -- list shows them)']);
  if (extra.length) refuse([`unexpected argument(s) after ${command}: ${extra.map((e) => JSON.stringify(e)).join(' ')}`]);
  const config = given.get('config') as string | undefined;
  if (config !== undefined && config.trim() === '') refuse(['--config: needs a file name']);
  const json = given.get('json') === true;

  if (command === 'list') {
    const extraFlags = [...given.keys()];
    if (extraFlags.length) refuse(extraFlags.map((f) => `--${f}: not an option of list`));
    return { kind: 'list' };
  }
  if (command === 'cost') {
    const extraFlags = [...given.keys()].filter((f) => f !== 'config' && f !== 'json');
    if (extraFlags.length) refuse(extraFlags.map((f) => `--${f}: not an option of cost (cost --config FILE [--json])`));
    return { kind: 'cost', json, ...(config !== undefined ? { config } : {}) };
  }

  const typed = new Map<PayloadFlag, string | boolean>();
  for (const f of Object.keys(PAYLOAD_FLAGS) as PayloadFlag[]) if (given.has(f)) typed.set(f, given.get(f)!);

  if (isRoutineId(command)) {
    const notForRoutines = [...typed.keys()].filter((f) => f !== 'dry-run' && f !== 'target');
    if (notForRoutines.length) refuse(notForRoutines.map((f) => `--${f}: not an option of routines (each step gets the routine's own payload; run the task alone to pass it)`));
    const routineFlags = z.strictObject({ target: baseEventShape.target, dryRun: baseEventShape.dryRun });
    const parsed = routineFlags.safeParse({ ...(typed.has('target') ? { target: typed.get('target') } : {}), dryRun: typed.get('dry-run') === true });
    if (!parsed.success) refuse(flagIssues(parsed.error, typed, command));
    return {
      kind: 'routine',
      routine: command,
      json,
      ...(config !== undefined ? { config } : {}),
      ...(parsed.data.target !== undefined ? { target: parsed.data.target } : {}),
      dryRun: parsed.data.dryRun,
    };
  }
  if (!isTaskId(command)) refuse([`unknown task or routine '${command}': tasks ${TASK_IDS.join(', ')}; routines ${ROUTINE_IDS.join(', ')}`]);

  // The payload the flags describe, checked by the task's own schema: the same bounds as a console payload.
  const raw: Record<string, unknown> = {};
  for (const [flag, value] of typed) {
    const field = PAYLOAD_FLAGS[flag];
    if (typeof value === 'boolean') raw[field] = value;
    else if (flag === 'tables') raw[field] = value.trim() === '' ? [] : value.split(',').map((s) => s.trim());
    else if (NUMERIC.has(flag)) raw[field] = NUMBER_TEXT.test(value) ? Number(value) : value;
    else raw[field] = value;
  }
  const parsed = TASK_MODULES[command].eventSchema.safeParse(raw);
  if (!parsed.success) refuse(flagIssues(parsed.error, typed, command));
  return { kind: 'task', task: command, json, ...(config !== undefined ? { config } : {}), event: raw };
}
