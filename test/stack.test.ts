// The catalogue → stack mapping, checked on the synthesized templates with aws-cdk-lib/assertions.
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { appliesTo, cronExpression, ROUTINES, TASKS, type TaskDefinition } from '../lib/catalogue';
import { parseConfig } from '../lib/config/load';
import { DIMENSION, METRIC, SERVICE_NAME } from '../lib/metrics/names';
import { synthStack, target } from './support/synth';

type Resource = { Type: string; Properties: Record<string, unknown> };

function resources(t: Template, type: string): Resource[] {
  return Object.values(t.findResources(type)) as Resource[];
}

function allSchedules(stack: ReturnType<typeof synthStack>): Resource[] {
  return stack.targetStacks.flatMap((s) => resources(Template.fromStack(s), 'AWS::Scheduler::Schedule'));
}

function allAlarms(stack: ReturnType<typeof synthStack>): Resource[] {
  return stack.targetStacks.flatMap((s) => resources(Template.fromStack(s), 'AWS::CloudWatch::Alarm'));
}

/** Tasks with a schedule of their own (the rest run as routine steps). */
const STANDALONE = (TASKS as readonly TaskDefinition[]).filter((t) => t.schedule);

function policyStatements(t: Template): { Action: string | string[]; Resource: unknown }[] {
  return resources(t, 'AWS::IAM::Policy').flatMap((p) => (p.Properties['PolicyDocument'] as { Statement: { Action: string | string[]; Resource: unknown }[] }).Statement);
}

describe('stack from the task catalogue', () => {
  it('has one function per catalogue task, arm64, Node.js 20+, sized from the catalogue, with log retention', () => {
    const stack = synthStack({ targets: [target('prod')], logRetentionDays: 30 });
    const t = Template.fromStack(stack);
    const fns = resources(t, 'AWS::Lambda::Function');
    expect(fns).toHaveLength(TASKS.length);
    for (const task of TASKS) {
      t.hasResourceProperties('AWS::Lambda::Function', {
        FunctionName: `dbmaint-${task.id}`,
        Architectures: ['arm64'],
        Runtime: Match.stringLikeRegexp('^nodejs(2[0-9]|[3-9][0-9])\\.x$'),
        Timeout: task.timeoutSeconds,
        MemorySize: task.memoryMb,
      });
      t.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: `/aws/lambda/dbmaint-${task.id}`, RetentionInDays: 30 });
    }
    // Async invocations: one deliberate retry, bounded age, failures to the queue.
    t.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 1,
      MaximumEventAgeInSeconds: 3600,
      DestinationConfig: { OnFailure: { Destination: Match.anyValue() } },
    });
  });

  it('keeps configuration out of the 4 KB environment', () => {
    const rules = Array.from({ length: 200 }, (_, i) => ({ table: `t${i}`, dateColumn: 'created_at', retentionDays: 30, action: 'delete' }));
    const stack = synthStack({ targets: [target('prod', { cleanupRules: rules })] });
    for (const fn of resources(Template.fromStack(stack), 'AWS::Lambda::Function')) {
      const vars = (fn.Properties['Environment'] as { Variables: Record<string, string> }).Variables;
      expect(JSON.stringify(vars).length).toBeLessThan(1024);
      expect(JSON.stringify(vars)).not.toContain('cleanupRules');
    }
  });

  it('has one schedule per standalone task, routine and target, in the configured time zone, carrying the target', () => {
    const rules = [{ table: 'django_session', dateColumn: 'expire_date', retentionDays: 30, action: 'delete' }];
    const all = { cleanupRules: rules, archiveOrders: {}, rebuildTables: ['orders'] };
    const targets = [target('prod', all), target('staging', all)];
    const stack = synthStack({ timeZone: 'Europe/Berlin', targets });
    const schedules = allSchedules(stack);
    expect(STANDALONE.map((t) => t.id)).toEqual(['analyze-tables']);
    expect(schedules).toHaveLength((STANDALONE.length + ROUTINES.length) * 2);
    for (const name of ['prod', 'staging']) {
      for (const task of STANDALONE) {
        const s = schedules.find((x) => x.Properties['Name'] === `dbmaint-${name}-${task.id}`);
        expect(s, `${name}/${task.id}`).toBeDefined();
        expect(s!.Properties['ScheduleExpression']).toBe(cronExpression(task.schedule!));
        expect(s!.Properties['ScheduleExpressionTimezone']).toBe('Europe/Berlin');
        const tgt = s!.Properties['Target'] as { Input: string; RetryPolicy: unknown; DeadLetterConfig: unknown };
        expect(JSON.parse(tgt.Input)).toEqual({ source: 'dbmaint.scheduler', task: task.id, target: name });
        expect(tgt.DeadLetterConfig).toBeDefined();
      }
      for (const routine of ROUTINES) {
        const s = schedules.find((x) => x.Properties['Name'] === `dbmaint-${name}-${routine.id}`);
        expect(s, `${name}/${routine.id}`).toBeDefined();
        expect(s!.Properties['ScheduleExpression']).toBe(cronExpression(routine.schedule));
        const tgt = s!.Properties['Target'] as { Input: string; Arn: unknown; DeadLetterConfig: unknown };
        expect(JSON.parse(tgt.Input)).toEqual({ target: name });
        expect(JSON.stringify(tgt.Arn)).toContain('Routine');
        expect(tgt.DeadLetterConfig).toBeDefined();
      }
    }
  });

  it('watches each task only on the targets it applies to: a silence alarm per task and target', () => {
    const input = {
      targets: [target('plain'), target('purging', { cleanupRules: [{ table: 't', dateColumn: 'd', retentionDays: 9, action: 'delete' }] })],
      reports: { from: 'dbmaint@example.com', to: ['dba@example.com'] },
    };
    const alarms = allAlarms(synthStack(input));
    const silence = alarms.filter((a) => String(a.Properties['AlarmName']).endsWith('-not-succeeded'));
    const cfg = parseConfig(input);
    const expected = cfg.targets.flatMap((t) =>
      (TASKS as readonly TaskDefinition[])
        .filter((task) => appliesTo(task, t, cfg) && (task.schedule || ROUTINES.some((r) => r.steps.some((s) => s.task === task.id))))
        .map((task) => `dbmaint-${t.name}-${task.id}-not-succeeded`),
    );
    expect(silence.map((a) => a.Properties['AlarmName']).sort()).toEqual(expected.sort());
    expect(expected).toContain('dbmaint-purging-cleanup-data-not-succeeded');
    expect(expected).not.toContain('dbmaint-plain-cleanup-data-not-succeeded');
    expect(expected).not.toContain('dbmaint-plain-archive-orders-not-succeeded');
    for (const a of silence) {
      // Silence is the worst failure: no data at all must page.
      expect(a.Properties['TreatMissingData']).toBe('breaching');
      expect(a.Properties['ComparisonOperator']).toBe('LessThanThreshold');
      expect(a.Properties['MetricName']).toBe(METRIC.TaskSucceeded.name);
      expect(Number(a.Properties['Period'])).toBeLessThanOrEqual(604_800);
    }
    const analyze = silence.find((a) => a.Properties['AlarmName'] === 'dbmaint-plain-analyze-tables-not-succeeded')!;
    // 06:15, 12:15, 18:15 in UTC: the longest gap (18:15 to 06:15) and an hour for the run.
    expect(analyze.Properties['Period']).toBe(13 * 3600);
    const weekly = silence.find((a) => a.Properties['AlarmName'] === 'dbmaint-plain-weekly-report-not-succeeded')!;
    expect(weekly.Properties['Period']).toBe(168 * 3600);
    expect(alarms.map((a) => a.Properties['AlarmName'])).toContain('dbmaint-purging-purge-falling-behind');
    expect(alarms.map((a) => a.Properties['AlarmName'])).not.toContain('dbmaint-plain-purge-falling-behind');
  });

  it('honours per-target schedule overrides and disabled tasks and routines', () => {
    const stack = synthStack({
      targets: [
        target('prod', {
          tasks: { 'analyze-tables': { schedule: { minute: '30', hour: '2' }, enabled: false }, 'weekly-maintenance': { enabled: false } },
        }),
      ],
    });
    const s = allSchedules(stack).find((x) => x.Properties['Name'] === 'dbmaint-prod-analyze-tables');
    expect(s!.Properties['ScheduleExpression']).toBe('cron(30 2 * * ? *)');
    expect(s!.Properties['State']).toBe('DISABLED');
    const weekly = allSchedules(stack).find((x) => x.Properties['Name'] === 'dbmaint-prod-weekly-maintenance');
    expect(weekly!.Properties['State']).toBe('DISABLED');
    // A disabled task or routine does not page for its silence.
    const names = allAlarms(stack).map((a) => a.Properties['AlarmName']);
    expect(names).not.toContain('dbmaint-prod-analyze-tables-not-succeeded');
    expect(names).not.toContain('dbmaint-prod-rebuild-indexes-not-succeeded');
  });

  it('splits a fleet across nested stacks, each under the CloudFormation resource limit', () => {
    // Nine scheduled tasks per target (more than the catalogue has) must still split correctly.
    const analyze = (TASKS as readonly TaskDefinition[]).find((t) => t.id === 'analyze-tables')!;
    const nine: TaskDefinition[] = Array.from({ length: 9 }, (_, i) => ({ ...analyze, id: `task-${i}` }));
    const targets = Array.from({ length: 50 }, (_, i) => target(`db${i}`));
    expect(nine.every((t) => t.requires === undefined && t.schedule)).toBe(true);
    const stack = synthStack({ targets }, { tasks: nine });
    expect(allSchedules(stack)).toHaveLength(450);
    expect(stack.targetStacks.length).toBeGreaterThan(1);
    for (const s of [stack, ...stack.targetStacks]) {
      expect(Object.keys(Template.fromStack(s).toJSON()['Resources'] as object).length).toBeLessThan(500);
    }
    // The real catalogue with everything configured, 200 targets (the config's maximum).
    const full = { cleanupRules: [{ table: 't', dateColumn: 'd', retentionDays: 9, action: 'delete' }], archiveOrders: {}, rebuildTables: ['t'], storageLimitGb: 100 };
    const fleet = synthStack({ targets: Array.from({ length: 200 }, (_, i) => target(`db${i}`, full)), reports: { from: 'a@example.com', to: ['b@example.com'] } });
    for (const s of [fleet, ...fleet.targetStacks]) {
      expect(Object.keys(Template.fromStack(s).toJSON()['Resources'] as object).length).toBeLessThan(500);
    }
  });

  it('grants GetSecretValue on exactly the targets’ secrets, and no wildcard resources to the functions', () => {
    const stack = synthStack({
      targets: [
        target('prod'),
        { name: 'legacy', secretArn: 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:legacy', schemas: ['app'] },
      ],
    });
    const t = Template.fromStack(stack);
    const secretStatements = policyStatements(t).filter((s) => [s.Action].flat().includes('secretsmanager:GetSecretValue'));
    const granted = new Set(secretStatements.flatMap((s) => [s.Resource].flat().map(String)));
    expect([...granted].sort()).toEqual([
      'arn:aws:secretsmanager:eu-central-1:123456789012:secret:legacy-??????',
      'arn:aws:secretsmanager:eu-central-1:123456789012:secret:prod-db-AbCdEf',
    ]);
    // '*' only for actions that admit no narrower resource (Step Functions log delivery and X-Ray).
    const starOnly = /^(logs:(Create|Get|Update|Delete|List)LogDeliver(y|ies)|logs:PutResourcePolicy|logs:DescribeResourcePolicies|logs:DescribeLogGroups|xray:.*)$/;
    for (const s of policyStatements(t)) {
      if ([s.Resource].flat().includes('*')) expect([s.Action].flat().filter((a) => !starOnly.test(a))).toEqual([]);
    }
    expect(policyStatements(t).some((s) => [s.Action].flat().some((a) => a.startsWith('ses:')))).toBe(false);
  });

  it('grants SES sending only to mail-sending tasks and only for the configured identity', () => {
    const mailer: TaskDefinition = { ...TASKS[0], id: 'weekly-report', sendsMail: true };
    const stack = synthStack(
      { targets: [target('prod')], reports: { from: 'dbmaint@example.com', to: ['ops@example.com'] } },
      { tasks: [TASKS[0], mailer] },
    );
    const t = Template.fromStack(stack);
    const ses = policyStatements(t).filter((s) => [s.Action].flat().includes('ses:SendEmail'));
    expect(ses).toHaveLength(1);
    expect(JSON.stringify(ses[0]!.Resource)).toContain('identity/dbmaint@example.com');
    expect(JSON.stringify(ses[0]!.Resource)).toContain('identity/example.com');
  });

  it('imports the configured VPC, subnets and security groups without lookups', () => {
    const stack = synthStack({
      network: { vpcId: 'vpc-0123456789abcdef0', subnetIds: ['subnet-0123456789abcdef0'], securityGroupIds: ['sg-0123456789abcdef0'] },
      targets: [target('prod')],
    });
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
      VpcConfig: { SubnetIds: ['subnet-0123456789abcdef0'], SecurityGroupIds: ['sg-0123456789abcdef0'] },
    });
  });

  it('alarms on each task’s TaskFailed metric with the dimensions the functions emit', () => {
    const stack = synthStack({ targets: [target('prod')], alarms: { email: ['oncall@example.com'] }, metricNamespace: 'Acme/DbMaint' });
    const t = Template.fromStack(stack);
    const alarms = resources(t, 'AWS::CloudWatch::Alarm');
    for (const task of TASKS) {
      const failed = alarms.filter(
        (a) => a.Properties['MetricName'] === METRIC.TaskFailed.name && JSON.stringify(a.Properties['Dimensions']).includes(`"${task.id}"`),
      );
      expect(failed).toHaveLength(1);
      const p = failed[0]!.Properties;
      expect(p['Namespace']).toBe('Acme/DbMaint');
      expect(p['Threshold']).toBe(1);
      expect(p['AlarmActions']).toHaveLength(1);
      const dims = (p['Dimensions'] as { Name: string; Value: string }[]).map((d) => `${d.Name}=${d.Value}`).sort();
      expect(dims).toEqual([`${DIMENSION.Service}=${SERVICE_NAME}`, `${DIMENSION.Task}=${task.id}`].sort());
      t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Errors', Namespace: 'AWS/Lambda' });
    }
    t.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@example.com' });
  });

  it('passes cdk-nag AwsSolutions with only justified suppressions', () => {
    const stack = synthStack(
      {
        network: { vpcId: 'vpc-0123456789abcdef0', subnetIds: ['subnet-0123456789abcdef0'], securityGroupIds: ['sg-0123456789abcdef0'] },
        targets: [target('prod'), { name: 'legacy', secretArn: 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:legacy', schemas: ['app'] }],
      },
      { nag: true },
    );
    // Nested stacks report their findings through the parent's annotations.
    const errors = Annotations.fromStack(stack).findError('*', Match.stringLikeRegexp('AwsSolutions-.*'));
    expect(errors.map((e) => `${e.id}: ${String(e.entry.data).slice(0, 120)}`)).toEqual([]);
    const warnings = Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*'));
    expect(warnings.map((e) => String(e.entry.data).slice(0, 120))).toEqual([]);
    // Every suppression carries a reason.
    const meta = JSON.stringify(Template.fromStack(stack).toJSON());
    const reasons = [...meta.matchAll(/"reason":"([^"]*)"/g)].map((m) => m[1]!);
    expect(reasons.length).toBeGreaterThan(0);
    for (const r of reasons) expect(r.length).toBeGreaterThan(30);
  });
});
