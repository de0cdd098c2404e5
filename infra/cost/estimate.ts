// The monthly cost of a synthesized dbmaint stack: resources counted from its templates, usage from their schedules and the stated assumptions, priced by prices.ts.
import type { DbMaintConfig } from '../../lib/config/schema';
import { PRICES, type PriceTable } from './prices';
import { ASSUMPTIONS, type UsageAssumptions } from './usage';

export interface CostItem {
  readonly service: 'CloudWatch alarms' | 'CloudWatch dashboards' | 'CloudWatch custom metrics' | 'Lambda' | 'Step Functions' | 'EventBridge Scheduler' | 'CloudWatch Logs';
  /** What is counted, e.g. "prod-cleanup-falling-behind (1 metric)". */
  readonly what: string;
  /** The target it belongs to; null for what the stack shares (dashboards, fleet-wide alarms, fleet state machines). */
  readonly target: string | null;
  readonly quantity: number;
  readonly unit: string;
  readonly unitUsd: number;
  readonly monthlyUsd: number;
}

export interface CostEstimate {
  readonly monthlyUsd: number;
  /** Each target's own items plus an equal share of the shared ones. */
  readonly perTargetUsd: Readonly<Record<string, number>>;
  readonly sharedUsd: number;
  readonly items: readonly CostItem[];
  readonly prices: PriceTable;
  readonly assumptions: UsageAssumptions;
}

type Resource = { readonly Type: string; readonly Properties?: Record<string, unknown> };
export type Template = { readonly Resources?: Record<string, Resource> };

const DAYS_PER_MONTH = 365.25 / 12;

/** Values one cron field takes (Scheduler syntax: numbers, `*`, `?`, lists, ranges, steps; `L`/`W`/`#` counted as one). */
function fieldCount(field: string, lo: number, hi: number): number {
  if (field === '*' || field === '?') return hi - lo + 1;
  let n = 0;
  for (const part of field.split(',')) {
    const [range, step] = part.split('/');
    const s = step ? Number(step) : 1;
    if (range === '*' || range === undefined) n += Math.floor((hi - lo) / s) + 1;
    else if (range.includes('-')) {
      const [a, b] = range.split('-').map((x) => Number.parseInt(x, 10));
      n += Number.isFinite(a) && Number.isFinite(b) ? Math.floor((b! - a!) / s) + 1 : 1;
    } else if (step) n += Math.floor((hi - Number.parseInt(range, 10)) / s) + 1;
    else n += 1;
  }
  return n;
}

/** Runs per average month of a Scheduler expression: `cron(min hour dom month dow year)`, `rate(n unit)`, `at(...)`. */
export function runsPerMonth(expression: string): number {
  const rate = /^rate\((\d+)\s+(minute|hour|day)s?\)$/.exec(expression);
  if (rate) return (DAYS_PER_MONTH * { minute: 1440, hour: 24, day: 1 }[rate[2] as 'minute' | 'hour' | 'day']) / Number(rate[1]);
  if (expression.startsWith('at(')) return 0; // once, not monthly
  const cron = /^cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)$/.exec(expression);
  if (!cron) throw new Error(`unrecognised schedule expression: ${expression}`);
  const [, minute, hour, dom, month, dow] = cron;
  const perDay = fieldCount(minute!, 0, 59) * fieldCount(hour!, 0, 23);
  const months = fieldCount(month!, 1, 12) / 12;
  const days = dow !== '?' && dow !== '*' ? (fieldCount(dow!.replace(/[A-Z]{3}/g, (d) => String(['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'].indexOf(d) + 1)), 1, 7) * DAYS_PER_MONTH) / 7 : dom === '*' || dom === '?' ? DAYS_PER_MONTH : fieldCount(dom!, 1, 31);
  return perDay * days * months;
}

const round2 = (n: number) => Math.round(n * 100) / 100;
const round4 = (n: number) => Math.round(n * 10_000) / 10_000;

function resources(templates: readonly Template[], type: string): Resource[] {
  return templates.flatMap((t) => Object.values(t.Resources ?? {}).filter((r) => r.Type === type));
}

/** A literal string, or the literal parts of an Fn::Join (names and definitions the stack builds from tokens). */
function literal(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && 'Fn::Join' in value) {
    const [sep, parts] = (value as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
    return parts.map((p) => (typeof p === 'string' ? p : '')).join(sep);
  }
  return '';
}

/** The target a resource name belongs to: `<prefix>-<target>-…`, the longest configured name that fits. */
function targetOf(name: string, prefix: string, targets: readonly string[]): string | null {
  const hit = targets.filter((t) => name.startsWith(`${prefix}-${t}-`)).sort((a, b) => b.length - a.length)[0];
  return hit ?? null;
}

export function estimateCost(config: DbMaintConfig, templates: readonly Template[], opts: { prefix?: string; prices?: PriceTable; assumptions?: UsageAssumptions } = {}): CostEstimate {
  const prefix = opts.prefix ?? 'dbmaint';
  const P = opts.prices ?? PRICES;
  const A = opts.assumptions ?? ASSUMPTIONS;
  const targets = config.targets.map((t) => t.name);
  const items: CostItem[] = [];
  const add = (i: Omit<CostItem, 'monthlyUsd'>) => items.push({ ...i, monthlyUsd: round4(i.quantity * i.unitUsd) });

  // Alarms: one price per metric evaluated.
  for (const a of resources(templates, 'AWS::CloudWatch::Alarm')) {
    const name = literal(a.Properties?.['AlarmName']);
    const metrics = Array.isArray(a.Properties?.['Metrics']) ? (a.Properties!['Metrics'] as { MetricStat?: unknown }[]).filter((m) => m.MetricStat).length : 1;
    add({ service: 'CloudWatch alarms', what: `${name || 'alarm'} (${metrics} metric${metrics > 1 ? 's' : ''})`, target: targetOf(name, prefix, targets), quantity: metrics, unit: 'alarm-metric-month', unitUsd: P.alarmMetricMonth });
  }
  for (const d of resources(templates, 'AWS::CloudWatch::Dashboard')) {
    add({ service: 'CloudWatch dashboards', what: literal(d.Properties?.['DashboardName']) || 'dashboard', target: null, quantity: 1, unit: 'dashboard-month', unitUsd: P.dashboardMonth });
  }

  // What runs: each target's direct schedules (one invocation each) and its routines (each step once per execution).
  const functions = new Map(
    resources(templates, 'AWS::Lambda::Function').map((f) => [literal(f.Properties?.['FunctionName']).replace(`${prefix}-`, ''), Number(f.Properties?.['MemorySize'] ?? 128)]),
  );
  const invocations = new Map<string, Map<string, number>>(); // target -> task -> invocations per month
  const bump = (target: string, task: string, n: number) => {
    const m = invocations.get(target) ?? new Map<string, number>();
    m.set(task, (m.get(task) ?? 0) + n);
    invocations.set(target, m);
  };
  const routineRuns = new Map<string, number>(); // routine id -> executions per month per target
  for (const s of resources(templates, 'AWS::Scheduler::Schedule')) {
    const name = literal(s.Properties?.['Name']);
    const runs = runsPerMonth(String(s.Properties?.['ScheduleExpression']));
    const target = targetOf(name, prefix, targets);
    add({ service: 'EventBridge Scheduler', what: `${name} (${String(s.Properties?.['ScheduleExpression'])})`, target, quantity: round2(runs), unit: 'invocation', unitUsd: P.schedulerInvocation });
    const task = target ? name.slice(`${prefix}-${target}-`.length) : undefined;
    if (target && task && functions.has(task)) bump(target, task, runs);
    const routine = config.targets.length && !target ? name.slice(`${prefix}-`.length).replace(/-[^-]+$/, '') : undefined;
    // A fleet schedule starts the routine for a batch of targets; every target's routine runs once per start.
    if (routine && A.routines[routine]) routineRuns.set(routine, Math.max(routineRuns.get(routine) ?? 0, runs));
  }
  for (const [routine, runs] of routineRuns) {
    for (const t of targets) for (const task of A.routines[routine]!.steps) bump(t, task, runs);
  }

  // Lambda: GB-seconds at each function's memory and the assumed duration, plus requests.
  for (const [target, tasks] of invocations) {
    for (const [task, n] of tasks) {
      const memoryGb = (functions.get(task) ?? 256) / 1024;
      const seconds = A.secondsPerInvocation[task] ?? A.defaultSecondsPerInvocation;
      add({ service: 'Lambda', what: `${task}: ${round2(n)} invocations × ${seconds} s × ${memoryGb} GB`, target, quantity: round2(n * seconds * memoryGb), unit: 'GB-second', unitUsd: P.lambdaGbSecondArm });
      add({ service: 'Lambda', what: `${task}: requests`, target, quantity: round2(n), unit: 'request', unitUsd: P.lambdaRequest });
      // Custom metrics: each run publishes its task's metrics (per target, and per table for rule tables) within one hour.
      const hours = Math.min(P.hoursPerMonth, n);
      const perTable = A.perTableSeries(task, config.targets.find((t) => t.name === target)!, config);
      const metrics = (A.metricsPerRun[task] ?? A.defaultMetricsPerRun) + perTable;
      add({ service: 'CloudWatch custom metrics', what: `${task}: ${metrics} metrics published in ${round2(hours)} h of the month`, target, quantity: round4((metrics * hours) / P.hoursPerMonth), unit: 'metric-month', unitUsd: P.customMetricMonth });
      const gb = (n * A.logBytesPerInvocation) / 1e9;
      add({ service: 'CloudWatch Logs', what: `${task}: ${A.logBytesPerInvocation / 1000} KB per invocation ingested`, target, quantity: round4(gb), unit: 'GB ingested', unitUsd: P.logIngestGb });
      add({ service: 'CloudWatch Logs', what: `${task}: kept ${config.logRetentionDays} days`, target, quantity: round4((gb * config.logRetentionDays) / DAYS_PER_MONTH), unit: 'GB-month stored', unitUsd: P.logStorageGbMonth });
    }
  }
  // The fleet-wide set (dimension Task alone, for the one failure alarm per task): shared, published in every hour any target runs the task.
  const fleetRuns = new Map<string, number>();
  for (const tasks of invocations.values()) for (const [task, n] of tasks) fleetRuns.set(task, (fleetRuns.get(task) ?? 0) + n);
  for (const [task, n] of fleetRuns) {
    const hours = Math.min(P.hoursPerMonth, n);
    const metrics = A.metricsPerRun[task] ?? A.defaultMetricsPerRun;
    add({ service: 'CloudWatch custom metrics', what: `${task}: ${metrics} fleet-wide metrics (dimension Task) in ${round2(hours)} h`, target: null, quantity: round4((metrics * hours) / P.hoursPerMonth), unit: 'metric-month', unitUsd: P.customMetricMonth });
  }
  // Step Functions: every state of a routine's path once per execution per target (a window's extra invocations add more).
  for (const [routine, runs] of routineRuns) {
    // The routine's own state machine, when synthesized: every state once (an upper bound: a catch or the long-runner branch is not always taken).
    const machine = resources(templates, 'AWS::StepFunctions::StateMachine').find((m) => literal(m.Properties?.['StateMachineName']) === `${prefix}-${routine}`);
    const states = machine ? (literal(machine.Properties?.['DefinitionString']).match(/"Type":"/g) ?? []).length : 0;
    const transitions = states > 0 ? states + A.fleetTransitionsPerTarget : A.routines[routine]!.transitionsPerExecution;
    for (const t of targets) {
      add({ service: 'Step Functions', what: `${routine}: ${round2(runs)} executions × ${transitions} transitions`, target: t, quantity: round2(runs * transitions), unit: 'state transition', unitUsd: P.stateTransition });
      add({ service: 'CloudWatch Logs', what: `${routine}: execution log (level ALL, no data)`, target: t, quantity: round4((runs * transitions * A.logBytesPerTransition) / 1e9), unit: 'GB ingested', unitUsd: P.logIngestGb });
    }
  }

  const total = items.reduce((n, i) => n + i.monthlyUsd, 0);
  const shared = items.filter((i) => i.target === null).reduce((n, i) => n + i.monthlyUsd, 0);
  const perTargetUsd = Object.fromEntries(targets.map((t) => [t, round2(items.filter((i) => i.target === t).reduce((n, i) => n + i.monthlyUsd, 0) + shared / Math.max(1, targets.length))]));
  return { monthlyUsd: round2(total), perTargetUsd, sharedUsd: round2(shared), items, prices: P, assumptions: A };
}
