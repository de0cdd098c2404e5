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
  Retry?: { ErrorEquals: string[]; BackoffRate?: number; MaxAttempts?: number }[];
  Catch?: { ErrorEquals: string[]; Next: string }[];
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
    name = state.Next;
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
      const caught = def.States[state.Catch!.find((c) => c.ErrorEquals.includes('States.ALL'))!.Next]!;
      expect(caught.Type).toBe('Pass');
      expect(caught.Next).toBe(state.Next); // the failed path joins the normal one
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

  it('has a dashboard with a row per target', () => {
    const dash = Object.values(t.findResources('AWS::CloudWatch::Dashboard'))[0] as { Properties: { DashboardName: string; DashboardBody: { 'Fn::Join': [string, unknown[]] } } };
    expect(dash.Properties.DashboardName).toBe('dbmaint');
    const body = dash.Properties.DashboardBody['Fn::Join'][1].map((p) => (typeof p === 'string' ? p : '')).join('');
    for (const name of ['prod', 'staging']) {
      expect(body).toContain(`## ${name}`);
      expect(body).toContain(`${name}: database size`);
      expect(body).toContain(`${name}: recommendations by priority`);
    }
    for (const m of [METRIC.DatabaseSizeBytes, METRIC.MaxFragmentationPercent, METRIC.RowsDeleted, METRIC.DurationSeconds, METRIC.TaskFailed, METRIC.RecommendationsHigh]) expect(body).toContain(`"${m.name}"`);
  });
});
