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
  // The fleet routines' schedules are in the main stack, the per-target tasks' in the nested stacks.
  return [stack, ...stack.targetStacks].flatMap((s) => resources(Template.fromStack(s), 'AWS::Scheduler::Schedule'));
}

function allAlarms(stack: ReturnType<typeof synthStack>): Resource[] {
  return stack.targetStacks.flatMap((s) => resources(Template.fromStack(s), 'AWS::CloudWatch::Alarm'));
}

/** Tasks with a schedule of their own (the rest run as routine steps). */
const STANDALONE = (TASKS as readonly TaskDefinition[]).filter((t) => t.schedule);

type Statement = { Action: string | string[]; Resource: unknown; Condition?: Record<string, unknown> };

/** Inline (role default) policies and the customer-managed grant policies alike. */
function policyStatements(t: Template): Statement[] {
  return [...resources(t, 'AWS::IAM::Policy'), ...resources(t, 'AWS::IAM::ManagedPolicy')].flatMap((p) => (p.Properties['PolicyDocument'] as { Statement: Statement[] }).Statement);
}

const granted = (t: Template, action: string) => new Set(policyStatements(t).filter((s) => [s.Action].flat().includes(action)).flatMap((s) => [s.Resource].flat().map(String)));

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
    // Standalone tasks per target; routines once for the fleet (both targets on the catalogue's schedule: one batch).
    expect(schedules).toHaveLength(STANDALONE.length * 2 + ROUTINES.length);
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
    }
    for (const routine of ROUTINES) {
      const s = schedules.find((x) => x.Properties['Name'] === `dbmaint-${routine.id}-b0`);
      expect(s, routine.id).toBeDefined();
      expect(s!.Properties['ScheduleExpression']).toBe(cronExpression(routine.schedule));
      expect(s!.Properties['ScheduleExpressionTimezone']).toBe('Europe/Berlin');
      const tgt = s!.Properties['Target'] as { Input: string; Arn: unknown; DeadLetterConfig: unknown };
      expect(JSON.parse(tgt.Input)).toEqual({ batch: 'b0' });
      expect(JSON.stringify(tgt.Arn)).toContain('Fleet');
      expect(tgt.DeadLetterConfig).toBeDefined();
      // The fleet execution runs both targets' routines: they are named in its definition.
      const fleet = resources(Template.fromStack(stack), 'AWS::StepFunctions::StateMachine').find((r) => r.Properties['StateMachineName'] === `dbmaint-${routine.id}-fleet`);
      const definition = JSON.stringify(fleet!.Properties['DefinitionString']);
      for (const name of ['prod', 'staging']) expect(definition).toContain(`\\"${name}\\"`);
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
    // The only target has the weekly routine off: no fleet execution for it, no schedule; the daily one still runs.
    const names0 = allSchedules(stack).map((x) => x.Properties['Name']);
    expect(names0).not.toContain('dbmaint-weekly-maintenance-b0');
    expect(names0).toContain('dbmaint-daily-maintenance-b0');
    const machines = resources(Template.fromStack(stack), 'AWS::StepFunctions::StateMachine').map((r) => r.Properties['StateMachineName']);
    expect(machines).not.toContain('dbmaint-weekly-maintenance-fleet');
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
    // The real catalogue with everything configured at 2, 100 and 500 targets (the config's maximum): test/fleet-scale.test.ts.
  });

  it('grants GetSecretValue on exactly the targets’ and their replicas’ secrets, once, to every function, and no wildcard resources', () => {
    const replica = 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:prod-replica-QwErTy';
    const stack = synthStack({
      targets: [
        target('prod', { replicaSecretArns: [replica] }),
        { name: 'legacy', secretArn: 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:legacy', schemas: ['app'] },
      ],
    });
    const t = Template.fromStack(stack);
    // Replica secrets are read by the purge's lag probe (lib/tasks/retention-runner.ts) with the function's own role.
    expect([...granted(t, 'secretsmanager:GetSecretValue')].sort()).toEqual([
      'arn:aws:secretsmanager:eu-central-1:123456789012:secret:legacy-??????',
      'arn:aws:secretsmanager:eu-central-1:123456789012:secret:prod-db-AbCdEf',
      replica,
    ]);
    expect(granted(t, 'secretsmanager:DescribeSecret').size).toBe(0); // the functions never call it
    // Listed once, in a policy every function role carries (not once per role: ten copies outgrew IAM's limits).
    const grants = t.findResources('AWS::IAM::ManagedPolicy', { Properties: { PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: 'secretsmanager:GetSecretValue' })]) } } });
    expect(Object.keys(grants)).toHaveLength(1);
    const roles = (Object.values(grants)[0] as Resource).Properties['Roles'] as { Ref: string }[];
    const fnRoles = resources(t, 'AWS::Lambda::Function').map((f) => ((f.Properties['Role'] as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0]));
    expect(roles.map((r) => r.Ref).sort()).toEqual(fnRoles.sort());
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

/** Every template of the stack: its own and each nested stack's. */
function allTemplates(stack: ReturnType<typeof synthStack>): Template[] {
  return [stack, ...stack.targetStacks].map((s) => Template.fromStack(s));
}

describe('fleet deployment: grants, alarm delivery, redeploy, concurrency', () => {
  const arnIn = (region: string, name: string) => `arn:aws:secretsmanager:${region}:123456789012:secret:${name}`;

  it('grants by name prefix or by tag when configured, in the regions and accounts of the configured secrets only', () => {
    const targets = [
      target('a', { secretArn: arnIn('eu-central-1', 'dbmaint/a-AbCdEf'), replicaSecretArns: [arnIn('eu-central-1', 'dbmaint/a-replica-AbCdEf')] }),
      target('b', { secretArn: arnIn('us-east-1', 'dbmaint/b-AbCdEf') }),
    ];
    const byPrefix = Template.fromStack(synthStack({ targets, fleet: { secretAccess: { mode: 'name-prefix', prefix: 'dbmaint/' } } }));
    expect([...granted(byPrefix, 'secretsmanager:GetSecretValue')].sort()).toEqual([arnIn('eu-central-1', 'dbmaint/*'), arnIn('us-east-1', 'dbmaint/*')]);
    const byTag = Template.fromStack(synthStack({ targets, fleet: { secretAccess: { mode: 'tag', key: 'dbmaint', value: 'read' } } }));
    const tagged = policyStatements(byTag).filter((s) => [s.Action].flat().includes('secretsmanager:GetSecretValue'));
    expect(tagged).toHaveLength(1);
    expect([tagged[0]!.Resource].flat().sort()).toEqual([arnIn('eu-central-1', '*'), arnIn('us-east-1', '*')]);
    expect(tagged[0]!.Condition).toEqual({ StringEquals: { 'secretsmanager:ResourceTag/dbmaint': 'read' } });
  });

  it('decrypts a secret’s KMS key only via Secrets Manager in the secret’s own region, not the stack’s', () => {
    const euKey = 'arn:aws:kms:eu-central-1:123456789012:key/11111111-1111-1111-1111-111111111111';
    const usKey = 'arn:aws:kms:us-east-1:123456789012:key/22222222-2222-2222-2222-222222222222';
    const stack = synthStack({
      targets: [target('eu', { kmsKeyArn: euKey }), target('us', { secretArn: arnIn('us-east-1', 'us-db-AbCdEf'), kmsKeyArn: usKey })],
    });
    const kms = policyStatements(Template.fromStack(stack)).filter((s) => [s.Action].flat().includes('kms:Decrypt'));
    const byKey = Object.fromEntries(kms.flatMap((s) => [s.Resource].flat().map((k) => [String(k), s.Condition])));
    expect(byKey).toEqual({
      [euKey]: { StringEquals: { 'kms:ViaService': 'secretsmanager.eu-central-1.amazonaws.com' } },
      [usKey]: { StringEquals: { 'kms:ViaService': 'secretsmanager.us-east-1.amazonaws.com' } },
    });
  });

  it('lets CloudWatch publish this account’s dbmaint alarms to the alarm topic, and still denies non-TLS', () => {
    const stack = synthStack({ targets: [target('prod', { cleanupRules: [{ table: 't', dateColumn: 'd', retentionDays: 9, action: 'delete' }] })], alarms: { email: ['oncall@example.com'] } });
    const t = Template.fromStack(stack);
    const topicId = Object.keys(t.findResources('AWS::SNS::Topic'))[0]!;
    t.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: topicId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 'sns:Publish', Principal: '*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Resource: { Ref: topicId },
            Condition: {
              StringEquals: { 'aws:SourceAccount': '123456789012' },
              ArnLike: { 'aws:SourceArn': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':cloudwatch:eu-central-1:123456789012:alarm:dbmaint-*']] } },
            },
          }),
        ]),
      },
    });
    // Every alarm that notifies the topic is matched by that aws:SourceArn pattern.
    const alarms = allTemplates(stack).flatMap((x) => resources(x, 'AWS::CloudWatch::Alarm'));
    expect(alarms.length).toBeGreaterThan(10);
    for (const a of alarms) expect(String(a.Properties['AlarmName'])).toMatch(/^dbmaint-/);
  });

  it('needs no allow on the failure queue: Lambda and Scheduler send with their roles (identity policies), over TLS', () => {
    const stack = synthStack({ targets: [target('prod')] });
    const t = Template.fromStack(stack);
    const queueId = Object.keys(t.findResources('AWS::SQS::Queue'))[0]!;
    const queuePolicy = resources(t, 'AWS::SQS::QueuePolicy')[0]!.Properties['PolicyDocument'] as { Statement: { Effect: string; Condition?: unknown }[] };
    expect(queuePolicy.Statement.map((s) => [s.Effect, s.Condition])).toEqual([['Deny', { Bool: { 'aws:SecureTransport': 'false' } }]]);
    const queueArn = { 'Fn::GetAtt': [queueId, 'Arn'] };
    const senders = resources(t, 'AWS::IAM::Policy').filter((p) =>
      (p.Properties['PolicyDocument'] as { Statement: Statement[] }).Statement.some((s) => [s.Action].flat().includes('sqs:SendMessage') && JSON.stringify(s.Resource) === JSON.stringify(queueArn)),
    );
    const roleOf = (p: Resource) => (p.Properties['Roles'] as { Ref: string }[]).map((r) => r.Ref);
    const schedulerRole = Object.keys(t.findResources('AWS::IAM::Role', { Properties: { AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'scheduler.amazonaws.com' } })] } } }))[0]!;
    expect(senders.flatMap(roleOf)).toContain(schedulerRole); // the schedules' dead-letter queue
    expect(senders.flatMap(roleOf).filter((r) => r.startsWith('Task'))).toHaveLength(TASKS.length); // on-failure destination
  });

  it('can be destroyed and deployed again: nothing with a fixed name is retained, and nested stacks wait for the schedule group', () => {
    const stack = synthStack({ targets: [target('prod')] });
    for (const t of allTemplates(stack)) {
      for (const [id, r] of Object.entries(t.toJSON()['Resources'] as Record<string, { Type: string; DeletionPolicy?: string; UpdateReplacePolicy?: string; Properties?: Record<string, unknown> }>)) {
        const fixedNames = Object.entries(r.Properties ?? {}).filter(([k, v]) => k.endsWith('Name') && typeof v === 'string');
        if (fixedNames.length === 0) continue;
        expect(`${id} (${r.Type}, ${fixedNames[0]![0]}=${String(fixedNames[0]![1])}): ${r.DeletionPolicy ?? 'Delete'}`).not.toMatch(/: Retain/);
      }
    }
    // The schedules name their group through a parameter the parent fills with the group's Ref: CloudFormation orders them.
    const parent = Template.fromStack(stack);
    const groupId = Object.keys(parent.findResources('AWS::Scheduler::ScheduleGroup'))[0]!;
    const nested = resources(parent, 'AWS::CloudFormation::Stack');
    expect(nested.length).toBeGreaterThan(0);
    for (const n of nested) expect(Object.values(n.Properties['Parameters'] as object)).toContainEqual({ Ref: groupId });
    for (const s of allSchedules(stack)) expect(s.Properties['GroupName']).toEqual({ Ref: expect.stringMatching(/ScheduleGroup/) as unknown });
  });

  it('spreads scheduled starts over a flexible window (15 min by default, configurable, 0 = exact)', () => {
    const windowOf = (fleet: Record<string, unknown> | undefined) =>
      [...new Set(allSchedules(synthStack({ targets: [target('prod')], ...(fleet ? { fleet } : {}) })).map((s) => JSON.stringify(s.Properties['FlexibleTimeWindow'])))].map((w) => JSON.parse(w) as unknown);
    expect(windowOf(undefined)).toEqual([{ Mode: 'FLEXIBLE', MaximumWindowInMinutes: 15 }]);
    expect(windowOf({ flexibleWindowMinutes: 40 })).toEqual([{ Mode: 'FLEXIBLE', MaximumWindowInMinutes: 40 }]);
    expect(windowOf({ flexibleWindowMinutes: 0 })).toEqual([{ Mode: 'OFF' }]);
  });

  it('reserves concurrency per function only when configured: for all functions or per task', () => {
    const reserved = (fleet: Record<string, unknown> | undefined) =>
      Object.fromEntries(
        resources(Template.fromStack(synthStack({ targets: [target('prod')], ...(fleet ? { fleet } : {}) })), 'AWS::Lambda::Function').map((f) => [
          String(f.Properties['FunctionName']).replace(/^dbmaint-/, ''),
          f.Properties['ReservedConcurrentExecutions'],
        ]),
      );
    expect(Object.values(reserved(undefined)).every((v) => v === undefined)).toBe(true);
    expect(Object.values(reserved({ reservedConcurrency: 25 }))).toEqual(TASKS.map(() => 25));
    const some = reserved({ reservedConcurrency: { 'cleanup-data': 10, 'optimize-tables': 4 } });
    expect(Object.entries(some).filter(([, v]) => v !== undefined)).toEqual([
      ['cleanup-data', 10],
      ['optimize-tables', 4],
    ]);
  });

  it.each([
    ['name-prefix', { mode: 'name-prefix', prefix: 'dbmaint/' }],
    ['tag', { mode: 'tag', key: 'dbmaint', value: 'read' }],
  ])('passes cdk-nag with %s grants, each pattern suppressed with its reason', (_mode, secretAccess) => {
    const stack = synthStack({ targets: [target('a', { secretArn: arnIn('eu-central-1', 'dbmaint/a-AbCdEf') })], fleet: { secretAccess } }, { nag: true });
    const findings = [...Annotations.fromStack(stack).findError('*', Match.stringLikeRegexp('AwsSolutions-.*')), ...Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*'))];
    expect(findings.map((e) => String(e.entry.data).slice(0, 160))).toEqual([]);
  });
});
