// The routines as Step Functions state machines, the alarms and the dashboard, checked on the synthesized template.
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { ROUTINES } from '../lib/catalogue';
import { METRIC } from '../lib/metrics/names';
import { synthStack, target } from './support/synth';

interface State {
  Type: string;
  Next?: string;
  End?: boolean;
  Parameters?: Record<string, unknown>;
  Retry?: { ErrorEquals: string[]; BackoffRate?: number; MaxAttempts?: number; IntervalSeconds?: number; MaxDelaySeconds?: number; JitterStrategy?: string }[];
  Catch?: { ErrorEquals: string[]; Next: string }[];
  Default?: string;
  Choices?: { Next: string }[];
}

/** The state machine's definition: CloudFormation joins it from strings and function ARNs; ARNs become placeholders. */
function definitionOf(t: Template, name: string): { StartAt: string; States: Record<string, State> } {
  const sm = Object.values(t.findResources('AWS::StepFunctions::StateMachine')).find((r) => (r as { Properties: { StateMachineName: string } }).Properties.StateMachineName === name) as
    | { Properties: { DefinitionString: { 'Fn::Join': [string, unknown[]] } } }
    | undefined;
  expect(sm, name).toBeDefined();
  const parts = sm!.Properties.DefinitionString['Fn::Join'][1].map((p) => (typeof p === 'string' ? p : 'ARN'));
  return JSON.parse(parts.join('')) as { StartAt: string; States: Record<string, State> };
}

/** Follow Next from StartAt through the task states: the order the steps run in. */
function taskOrder(def: { StartAt: string; States: Record<string, State> }): { name: string; state: State }[] {
  const out: { name: string; state: State }[] = [];
  let name: string | undefined = def.StartAt;
  while (name) {
    const state: State = def.States[name]!;
    if (state.Type === 'Task') out.push({ name, state });
    // A Choice's default is the way on: WindowStart (no fleet start given), each step's `again` (no more invocations).
    name = state.Next ?? (state.Type === 'Choice' ? state.Default : undefined);
  }
  return out;
}

const stack = synthStack({ targets: [target('prod'), target('staging')], reports: { from: 'dbmaint@example.com', to: ['dba@example.com'] } });
const t = Template.fromStack(stack);

describe('routines in Step Functions', () => {
  it.each(ROUTINES.map((r) => [r.id, r] as const))('%s runs the catalogue steps in order, each with retries and a catch that goes on', (id, routine) => {
    const def = definitionOf(t, `dbmaint-${id}`);
    const steps = taskOrder(def);
    expect(steps.map((s) => s.state.Parameters as Record<string, unknown>).map((p) => p['task'])).toEqual(routine.steps.map((s) => s.task));
    steps.forEach(({ state }, i) => {
      const payload = state.Parameters as Record<string, unknown>;
      expect(payload).toMatchObject({ source: 'dbmaint.routine', routine: { id, 'execution.$': '$$.Execution.Id' }, 'target.$': '$.target', maxRunSeconds: routine.steps[i]!.budgetSeconds });
      // Transient errors are retried with exponential backoff; anything else is caught and the routine goes on.
      const dbRetry = state.Retry!.find((r) => r.ErrorEquals.includes('DatabaseConnectError'))!;
      expect(dbRetry.BackoffRate).toBe(2);
      expect(state.Retry!.some((r) => r.ErrorEquals.includes('Lambda.ServiceException'))).toBe(true);
      // A throttled invocation (reserved or account concurrency exhausted) waits for capacity: backoff, a cap, full jitter.
      const throttled = state.Retry!.find((r) => r.ErrorEquals.includes('Lambda.TooManyRequestsException'))!;
      expect(throttled).toMatchObject({ IntervalSeconds: 10, BackoffRate: 2, MaxDelaySeconds: 300, MaxAttempts: 10, JitterStrategy: 'FULL' });
      for (const e of ['Lambda.ServiceException', 'Lambda.SdkClientException']) {
        expect(state.Retry!.find((r) => r.ErrorEquals.includes(e))).toMatchObject({ BackoffRate: 2, JitterStrategy: 'FULL' });
      }
      // Another target's heavy task on the same server: its own retrier (not the transient one), before the catch-all.
      const busy = state.Retry!.filter((r) => r.ErrorEquals.includes('ServerBusy'));
      expect(busy).toEqual([{ ErrorEquals: ['ServerBusy'], IntervalSeconds: 60, BackoffRate: 1.5, MaxDelaySeconds: 600, MaxAttempts: 7, JitterStrategy: 'FULL' }]);
      expect(dbRetry.ErrorEquals).not.toContain('ServerBusy');
      expect(state.Catch!.some((c) => c.ErrorEquals.includes('ServerBusy'))).toBe(false);
      // No retrier without jitter: a fleet's routines would retry in lockstep.
      for (const r of state.Retry!) expect(r.JitterStrategy, r.ErrorEquals.join()).toBe('FULL');
      const caught = def.States[state.Catch!.find((c) => c.ErrorEquals.includes('States.ALL'))!.Next]!;
      expect(caught.Type).toBe('Pass');
      expect(caught.Next).toBe(state.Next); // the failed path joins the normal one
      // Both go to the window's Choice, which invokes the step again when it says so (docs/windows.md).
      const again = def.States[state.Next!]!;
      expect(again.Type).toBe('Choice');
      expect(again.Choices!.map((c) => c.Next)).toEqual([steps[i]!.name]);
      expect(payload['routine']).toMatchObject({ 'startedAt.$': '$.windowOpened.value', 'invocations.$': `$.outcomes.s${i}.invocations`, 'secondsSoFar.$': `$.outcomes.s${i}.secondsSoFar` });
    });
    // The last step (the report) gets every earlier outcome.
    const last = steps[steps.length - 1]!.state.Parameters as Record<string, unknown>;
    expect(last['steps.$']).toBe(`States.Array(${routine.steps.slice(0, -1).map((_, j) => `$.outcomes.s${j}`).join(', ')})`);
  });

  it('logs every execution and traces it', () => {
    for (const r of ROUTINES) {
      t.hasResourceProperties('AWS::StepFunctions::StateMachine', { StateMachineName: `dbmaint-${r.id}`, TracingConfiguration: { Enabled: true }, LoggingConfiguration: { Level: 'ALL' } });
    }
  });
});

describe('alarms and dashboard', () => {
  it('pages on report send failures of every mail-sending task', () => {
    const names = Object.values(t.findResources('AWS::CloudWatch::Alarm')).map((a) => (a as { Properties: { AlarmName: string; MetricName?: string } }).Properties);
    for (const id of ['recommendations', 'daily-report', 'weekly-report']) {
      expect(names.find((a) => a.AlarmName === `dbmaint-${id}-report-send-failed`)?.MetricName).toBe(METRIC.ReportSendFailed.name);
    }
  });

  type Dashboard = { Properties: { DashboardName: string; DashboardBody: { 'Fn::Join': [string, unknown[]] } } };
  const bodyOf = (x: Template) => {
    const dashboards = Object.values(x.findResources('AWS::CloudWatch::Dashboard')) as Dashboard[];
    expect(dashboards).toHaveLength(1);
    expect(dashboards[0]!.Properties.DashboardName).toBe('dbmaint');
    return dashboards[0]!.Properties.DashboardBody['Fn::Join'][1].map((p) => (typeof p === 'string' ? p : '')).join('');
  };

  it('has one dashboard: a database picked in the toolbar, and the fleet’s top databases by metric search', () => {
    const body = JSON.parse(bodyOf(t)) as { widgets: { properties: { title?: string; metrics?: unknown[][] } }[]; variables: Record<string, unknown>[] };
    // The Database variable: its choices come from a metric search, the first target is shown until another is picked.
    expect(body.variables).toEqual([
      {
        type: 'property',
        property: 'Database',
        inputType: 'select',
        id: 'database',
        label: 'Database',
        defaultValue: 'prod',
        search: '{"DbMaint",service,Task,Database} MetricName="TaskSucceeded" Task="preflight"',
        populateFrom: 'Database',
      },
    ]);
    const text = JSON.stringify(body);
    expect(text).not.toContain('staging');
    for (const m of [METRIC.DatabaseSizeBytes, METRIC.MaxFragmentationPercent, METRIC.RowsDeleted, METRIC.DurationSeconds, METRIC.TaskFailed, METRIC.RecommendationsHigh]) expect(text).toContain(`"${m.name}"`);
    // Fleet graphs: a SEARCH over the Database dimension, the top 10 kept.
    const searches = body.widgets.flatMap((w) => (w.properties.metrics ?? []).flat()).flatMap((m) => (typeof m === 'object' && m && 'expression' in m ? [String((m as { expression: string }).expression)] : []));
    expect(searches).toContain(`SORT(SEARCH('{"DbMaint",service,Task,Database} MetricName="DatabaseSizeBytes" Task="collect-statistics"', 'Maximum', 86400), MAX, DESC, 10)`);
    expect(searches.filter((e) => e.includes('Database}')).every((e) => /Task="[a-z-]+"/.test(e) && e.startsWith('SORT('))).toBe(true);
  });

  it('keeps the dashboard the same size whatever the fleet: no widget per target', () => {
    const many = synthStack({ targets: [target('prod'), ...Array.from({ length: 60 }, (_, i) => target(`db${i}`))], reports: { from: 'dbmaint@example.com', to: ['dba@example.com'] } });
    expect(bodyOf(Template.fromStack(many))).toBe(bodyOf(t));
  });
});
