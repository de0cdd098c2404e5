// Fleets of 2, 100 and 500 targets: every template passes cfn-lint and stays within CloudFormation's, IAM's, SNS's and SQS's limits.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MANAGED_POLICY_MAX_CHARS } from '../lib/config/secret-grants';
import { synthStack, target, templateFiles } from './support/synth';

/** CloudFormation's limits (a template passed by S3 URL, as the CDK uploads every one of these). */
const TEMPLATE_MAX_BYTES = 1_048_576;
const RESOURCES_MAX = 500;
const PARAMETERS_MAX = 200;
const OUTPUTS_MAX = 200;
/** IAM: all inline policies of a role together; managed policies per role. SNS topic and SQS queue policies. */
const ROLE_INLINE_MAX_CHARS = 10_240;
const ROLE_MANAGED_POLICIES_MAX = 10;
const TOPIC_POLICY_MAX_BYTES = 30_720;
const QUEUE_POLICY_MAX_BYTES = 20_480;

const arn = (name: string) => `arn:aws:secretsmanager:eu-central-1:123456789012:secret:${name}`;
/** Every per-target option on: the most resources and the largest schedules and alarms a target can bring. */
const everything = (i: number, name: string) => ({
  secretArn: arn(`${name}-AbCdEf`),
  cleanupRules: [{ table: 'sessions', dateColumn: 'created_at', retentionDays: 30, action: 'delete' }],
  archiveOrders: {},
  rebuildTables: ['orders'],
  storageLimitGb: 500,
  kmsKeyArn: `arn:aws:kms:eu-central-1:123456789012:key/0000aaaa-bbbb-cccc-dddd-${String(i % 4).padStart(12, '0')}`,
});
const common = {
  reports: { from: 'dbmaint@example.com', to: ['dba@example.com'] },
  alarms: { email: ['oncall@example.com'] },
  network: { vpcId: 'vpc-0123456789abcdef0', subnetIds: ['subnet-0123456789abcdef0'], securityGroupIds: ['sg-0123456789abcdef0'] },
};

const FLEETS = [
  { size: 2, config: { ...common, targets: Array.from({ length: 2 }, (_, i) => target(`fleet-${i}`, everything(i, `fleet-${i}-db`))) } },
  {
    // Exact grants: every secret ARN listed, a replica secret per target too (200 ARNs).
    size: 100,
    config: {
      ...common,
      targets: Array.from({ length: 100 }, (_, i) => target(`fleet-${i}`, { ...everything(i, `fleet-${i}-db`), replicaSecretArns: [arn(`fleet-${i}-replica-AbCdEf`)] })),
    },
  },
  {
    // 500 exact ARNs of realistic length do not fit IAM's managed policies (the config refuses; see fleet-config.test.ts): by prefix.
    size: 500,
    config: {
      ...common,
      fleet: { secretAccess: { mode: 'name-prefix', prefix: 'dbmaint/' } },
      targets: Array.from({ length: 500 }, (_, i) => target(`fleet-${i}`, everything(i, `dbmaint/fleet-${i}-db`))),
    },
  },
] as const;

type Json = Record<string, unknown>;
interface TemplateFile {
  fleet: number;
  file: string;
  bytes: number;
  json: { Resources: Record<string, { Type: string; Properties?: Json }>; Parameters?: Json; Outputs?: Json };
}

const dirs: string[] = [];
const templates: TemplateFile[] = [];
let lint: { status: number | null; matches: { Level: string; Rule: { Id: string }; Filename: string; Message: string }[]; seconds: number };

beforeAll(() => {
  for (const f of FLEETS) {
    const dir = mkdtempSync(path.join(os.tmpdir(), `dbmaint-fleet-${f.size}-`));
    dirs.push(dir);
    synthStack(f.config, { outdir: dir });
    for (const file of templateFiles(dir)) {
      templates.push({ fleet: f.size, file, bytes: statSync(file).size, json: JSON.parse(readFileSync(file, 'utf8')) as TemplateFile['json'] });
    }
  }
  // One cfn-lint run over every distinct template (the 100-target fleet's nested stacks are byte for byte the 500-target
  // fleet's first five: the same targets); a finding in a file stands for every file with its content.
  const byContent = new Map<string, string[]>();
  for (const t of templates) {
    const hash = createHash('sha256').update(readFileSync(t.file)).digest('hex');
    byContent.set(hash, [...(byContent.get(hash) ?? []), t.file]);
  }
  const linted = [...byContent.values()].map((files) => files[0]!);
  const started = process.hrtime.bigint();
  const out = spawnSync('cfn-lint', ['--format', 'json', '--', ...linted], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (out.error) throw new Error(`cfn-lint did not run (${out.error.message}): install it with 'pip install cfn-lint' (.ci/run does)`);
  const found = JSON.parse(out.stdout || '[]') as typeof lint.matches;
  const same = (file: string) => [...byContent.values()].find((files) => files[0] === file) ?? [file];
  lint = { status: out.status, matches: found.flatMap((m) => same(m.Filename).map((f) => ({ ...m, Filename: f }))), seconds: Number(process.hrtime.bigint() - started) / 1e9 };
  // The figures docs/deploy-at-scale.md quotes.
  for (const t of templates) {
    process.stdout.write(`fleet ${t.fleet}: ${path.basename(t.file)} ${t.bytes} bytes, ${Object.keys(t.json.Resources).length} resources\n`);
  }
  const warnings = lint.matches.filter((m) => m.Level !== 'Error');
  process.stdout.write(`cfn-lint: ${linted.length} distinct of ${templates.length} templates in ${lint.seconds.toFixed(1)} s, exit ${lint.status}, ${warnings.length} warnings/informational (${[...new Set(warnings.map((w) => w.Rule.Id))].join(', ')})\n`);
}, 900_000);

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A template value as CloudFormation will resolve it, intrinsics replaced by strings at least as long as what they become. */
function resolved(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(resolved);
  if (value === null || typeof value !== 'object') return value;
  const o = value as Json;
  const keys = Object.keys(o);
  if (keys.length === 1 && (keys[0] === 'Ref' || keys[0]!.startsWith('Fn::'))) {
    const [k, arg] = [keys[0]!, o[keys[0]!]];
    if (k === 'Fn::Join') {
      const [sep, parts] = arg as [string, unknown[]];
      return (parts.map(resolved) as string[]).join(sep);
    }
    const pseudo: Record<string, number> = { 'AWS::Partition': 10, 'AWS::Region': 14, 'AWS::AccountId': 12, 'AWS::URLSuffix': 16, 'AWS::StackName': 128 };
    // A function, role, queue or topic ARN: at most 140 characters for the names this stack gives.
    return 'x'.repeat(k === 'Ref' && typeof arg === 'string' && pseudo[arg] ? pseudo[arg] : 140);
  }
  return Object.fromEntries(keys.map((k) => [k, resolved(o[k])]));
}

const chars = (doc: unknown) => JSON.stringify(resolved(doc)).length;
const refersTo = (list: unknown, id: string) => Array.isArray(list) && list.some((r) => (r as Json)['Ref'] === id);

describe.each(FLEETS.map((f) => f.size))('a fleet of %i targets', (size) => {
  const mine = () => templates.filter((t) => t.fleet === size);

  it('passes cfn-lint with no error', () => {
    const errors = lint.matches.filter((m) => m.Level === 'Error' && mine().some((t) => t.file === m.Filename));
    expect(errors.map((e) => `${path.basename(e.Filename)} ${e.Rule.Id}: ${e.Message}`)).toEqual([]);
  });

  it('keeps every template under 1 MB, 500 resources, 200 parameters and 200 outputs', () => {
    expect(mine().length).toBe(1 + Math.ceil(size / 20));
    for (const t of mine()) {
      expect(t.bytes, path.basename(t.file)).toBeLessThan(TEMPLATE_MAX_BYTES);
      expect(Object.keys(t.json.Resources).length, path.basename(t.file)).toBeLessThan(RESOURCES_MAX);
      expect(Object.keys(t.json.Parameters ?? {}).length).toBeLessThanOrEqual(PARAMETERS_MAX);
      expect(Object.keys(t.json.Outputs ?? {}).length).toBeLessThanOrEqual(OUTPUTS_MAX);
    }
  });

  it('keeps every role within IAM’s inline and managed policy limits, and topic and queue policies within theirs', () => {
    for (const t of mine()) {
      const res = Object.entries(t.json.Resources);
      for (const [roleId, role] of res.filter(([, r]) => r.Type === 'AWS::IAM::Role')) {
        const inline = res.filter(([, r]) => r.Type === 'AWS::IAM::Policy' && refersTo(r.Properties?.['Roles'], roleId)).map(([, r]) => r.Properties!['PolicyDocument']);
        const own = ((role.Properties?.['Policies'] as { PolicyDocument: unknown }[] | undefined) ?? []).map((p) => p.PolicyDocument);
        const inlineChars = [...inline, ...own].reduce((n: number, d) => n + chars(d), 0);
        expect(inlineChars, `${roleId} inline`).toBeLessThanOrEqual(ROLE_INLINE_MAX_CHARS);
        const managed = ((role.Properties?.['ManagedPolicyArns'] as unknown[] | undefined) ?? []).length + res.filter(([, r]) => r.Type === 'AWS::IAM::ManagedPolicy' && refersTo(r.Properties?.['Roles'], roleId)).length;
        expect(managed, `${roleId} managed policies`).toBeLessThanOrEqual(ROLE_MANAGED_POLICIES_MAX);
      }
      for (const [id, p] of res.filter(([, r]) => r.Type === 'AWS::IAM::ManagedPolicy')) expect(chars(p.Properties!['PolicyDocument']), id).toBeLessThanOrEqual(MANAGED_POLICY_MAX_CHARS);
      for (const [id, p] of res.filter(([, r]) => r.Type === 'AWS::SNS::TopicPolicy')) expect(chars(p.Properties!['PolicyDocument']), id).toBeLessThanOrEqual(TOPIC_POLICY_MAX_BYTES);
      for (const [id, p] of res.filter(([, r]) => r.Type === 'AWS::SQS::QueuePolicy')) expect(chars(p.Properties!['PolicyDocument']), id).toBeLessThanOrEqual(QUEUE_POLICY_MAX_BYTES);
    }
  });

  it('grants every configured secret, and its key only via Secrets Manager', () => {
    const main = mine()[0]!;
    expect(path.basename(main.file)).toBe('Test.template.json');
    const statements = Object.values(main.json.Resources)
      .filter((r) => r.Type === 'AWS::IAM::ManagedPolicy')
      .flatMap((r) => (r.Properties!['PolicyDocument'] as { Statement: { Action: string | string[]; Resource: string | string[]; Condition?: Json }[] }).Statement);
    const granted = statements.filter((s) => [s.Action].flat().includes('secretsmanager:GetSecretValue')).flatMap((s) => [s.Resource].flat());
    const fleet = FLEETS.find((f) => f.size === size)!;
    const secrets = fleet.config.targets.flatMap((t) => [t['secretArn'] as string, ...((t['replicaSecretArns'] as string[] | undefined) ?? [])]);
    const covers = (pattern: string, a: string) => new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\/]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`).test(a);
    for (const s of secrets) expect(granted.some((g) => covers(g, s)), s).toBe(true);
    if (size === 500) expect(granted).toEqual([arn('dbmaint/*')]);
    else expect(granted.sort()).toEqual([...secrets].sort());
    const kms = statements.filter((s) => [s.Action].flat().includes('kms:Decrypt'));
    expect(kms.flatMap((s) => [s.Resource].flat())).toHaveLength(Math.min(size, 4)); // four keys shared across the fleet
    for (const s of kms) expect(s.Condition).toEqual({ StringEquals: { 'kms:ViaService': 'secretsmanager.eu-central-1.amazonaws.com' } });
  });

  it('holds nothing per target in the main template but the nested stacks, the listed secrets and the fleet routines\' target lists', () => {
    const main = mine()[0]!;
    const nested = Object.values(main.json.Resources).filter((r) => r.Type === 'AWS::CloudFormation::Stack');
    expect(nested).toHaveLength(Math.ceil(size / 20));
    // Each fleet routine names every target once, in its definition (its batches' server groups): a few bytes per target.
    const fleets = Object.entries(main.json.Resources).filter(([, r]) => r.Type === 'AWS::StepFunctions::StateMachine' && String(r.Properties?.['StateMachineName']).endsWith('-fleet'));
    expect(fleets).toHaveLength(2);
    for (const [, r] of fleets) {
      const names = [...JSON.stringify(r.Properties!['DefinitionString']).matchAll(/\\"(fleet-\d+)\\"/g)].map((m) => m[1]);
      expect(names.length, 'each target once').toBe(size);
      expect(new Set(names).size).toBe(size);
    }
    const rest = Object.fromEntries(Object.entries(main.json.Resources).filter(([id]) => !fleets.some(([f]) => f === id)));
    const text = JSON.stringify({ ...main.json, Resources: rest });
    // Outside the secret ARNs exact grants list, the only target named is the first (the dashboard's default database).
    const named = new Set([...text.replace(/arn:aws:secretsmanager:[^"]*/g, '').matchAll(/fleet-(\d+)/g)].map((m) => Number(m[1])));
    expect([...named]).toEqual([0]);
    expect(text.includes(`secret:fleet-${size - 1}-db`)).toBe(size !== 500);
  });
});

it('ran cfn-lint over every template, which exited without errors (its exit status: 2 errors, 4 warnings, 8 informational, 1 a failure of its own)', () => {
  expect(lint.status).not.toBeNull();
  expect(lint.status! & 3).toBe(0);
});

it('has one dashboard whose body is the same for 2, 100 and 500 targets', () => {
  const bodies = FLEETS.map((f) => {
    const main = templates.find((t) => t.fleet === f.size)!;
    const dashboards = Object.values(main.json.Resources).filter((r) => r.Type === 'AWS::CloudWatch::Dashboard');
    expect(dashboards).toHaveLength(1);
    return JSON.stringify(dashboards[0]!.Properties!['DashboardBody']);
  });
  expect(new Set(bodies).size).toBe(1);
});
