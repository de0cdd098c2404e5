// The DbMaintenance construct in a stack of the user's own: the same resources as the JSON-config app's stack, its parts exposed to add to, and the app's logical ids unchanged by the construct.
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import { describe, expect, it } from 'vitest';
import { DbMaintenance } from '../infra/db-maintenance';
import { TASKS } from '../lib/catalogue';
import { parseConfig } from '../lib/config/load';
import { repoRoot, synthStack, target } from './support/synth';

const input = { targets: [target('prod', { cleanupRules: [{ table: 'events', dateColumn: 'created_at', retentionDays: 30, action: 'delete' }] })] };

function ownStack(): { stack: Stack; maint: DbMaintenance } {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Shop', { env: { account: '123456789012', region: 'eu-central-1' } });
  const maint = new DbMaintenance(stack, 'Maint', { config: parseConfig(input), repoRoot });
  return { stack, maint };
}

describe('DbMaintenance in a stack of its own', () => {
  it('creates what the app stack creates (less its outputs) and exposes functions, state machines, topic and dashboards', () => {
    const { stack, maint } = ownStack();
    // The user's own addition on the exposed parts: an alarm on one function, to the construct's topic.
    const cleanup = maint.functions.find((f) => f.task.id === 'cleanup-data')!.fn.function;
    new cloudwatch.Alarm(stack, 'MyThrottles', { metric: cleanup.metricThrottles(), threshold: 1, evaluationPeriods: 1 }).addAlarmAction(new actions.SnsAction(maint.alarmTopic));
    const mine = Template.fromStack(stack).toJSON() as { Resources: Record<string, { Type: string }> };
    const app = Template.fromStack(synthStack(input)).toJSON() as { Resources: Record<string, { Type: string }>; Outputs?: object };
    const types = (t: { Resources: Record<string, { Type: string }> }) => Object.values(t.Resources).map((r) => r.Type).sort();
    expect(types(mine)).toEqual([...types(app), 'AWS::CloudWatch::Alarm'].sort());
    expect(maint.functions.map((f) => f.task.id)).toEqual(TASKS.map((t) => t.id));
    expect(maint.routines.map((r) => r.routine.id)).toEqual(['daily-maintenance', 'weekly-maintenance']);
    expect(maint.fleetRoutines).toHaveLength(2);
    expect(maint.dashboardNames.length).toBeGreaterThan(0);
    expect(Template.fromStack(stack).toJSON().Outputs).toBeUndefined();
  });

  it("the app's stack holds it under id 'Default', so its logical ids (and the resources a deployed stack has) are those of before the construct", () => {
    const ids = Object.keys((Template.fromStack(synthStack(input)).toJSON() as { Resources: Record<string, unknown> }).Resources);
    // Ids the stack had when the resources were its own children (hashes of their paths without the construct's).
    expect(ids).toEqual(expect.arrayContaining(['AlarmTopicD01E77F9', 'FailedInvocationsED025904', 'TaskcleanupdataLogsE4560736', 'TaskcleanupdataFunctionServiceRoleB305EBAD']));
    const { stack } = ownStack();
    // Under any other id they carry it.
    expect(Object.keys((Template.fromStack(stack).toJSON() as { Resources: Record<string, unknown> }).Resources).every((id) => id.startsWith('Maint'))).toBe(true);
  });
});
