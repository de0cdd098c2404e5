// The IAM statements that let every task function read the targets' secrets, packed into managed policies IAM accepts.

/**
 * How the functions are granted the secrets (fleet.secretAccess). Declared here, where the grants are planned from it, so that
 * this module need not import the fleet schema, which calls it (checkFleet's call makes tsc hold the schema to this type).
 */
export type SecretAccess =
  | { readonly mode: 'exact' }
  | { readonly mode: 'name-prefix'; readonly prefix: string }
  | { readonly mode: 'tag'; readonly key: string; readonly value: string };

/** IAM's limit on one customer-managed policy document (characters, whitespace not counted). */
export const MANAGED_POLICY_MAX_CHARS = 6144;
/** Packing stops short of the limit, so a rendering detail (key order, a scalar for a one-element list) cannot tip it over. */
const PACKING_BUDGET_CHARS = 6000;
/**
 * Grant policies attached to each function role. IAM allows 10 managed policies per role; AWSLambdaBasicExecutionRole and,
 * with a VPC, AWSLambdaVPCAccessExecutionRole take two, and one stays free for the operator.
 */
export const MAX_GRANT_POLICIES = 7;

export interface GrantStatement {
  readonly Effect: 'Allow';
  readonly Action: string[];
  readonly Resource: string[];
  readonly Condition?: Record<string, Record<string, string>>;
}

export interface SecretGrantInput {
  readonly targets: readonly { readonly secretArn: string; readonly replicaSecretArns: readonly string[]; readonly kmsKeyArn?: string | undefined }[];
}

export class SecretGrantError extends Error {
  override readonly name = 'SecretGrantError';
  constructor(
    message: string,
    readonly path: (string | number)[],
  ) {
    super(message);
  }
}

interface ParsedArn {
  readonly partition: string;
  readonly service: string;
  readonly region: string;
  readonly account: string;
  readonly resource: string;
}

function parseArn(arn: string): ParsedArn {
  const m = /^arn:(aws[a-z-]*):([a-z0-9-]+):([a-z0-9-]*):(\d{12}):(.+)$/.exec(arn);
  if (!m) throw new Error(`not an ARN: ${arn}`); // the config schema admits only well-formed secret and key ARNs
  return { partition: m[1]!, service: m[2]!, region: m[3]!, account: m[4]!, resource: m[5]! };
}

/** The secret's name as its ARN gives it (with Secrets Manager's 6-character suffix when the ARN is complete). */
export function secretNameOf(arn: string): string {
  return parseArn(arn).resource.replace(/^secret:/, '');
}

/** A secret ARN ends with Secrets Manager's 6-character suffix when it is complete. */
function isCompleteSecretArn(arn: string): boolean {
  return /:secret:.+-[A-Za-z0-9]{6}$/.test(arn);
}

/** kms:ViaService names the endpoint Secrets Manager calls KMS from: the secret's own region (and partition's domain). */
function secretsManagerEndpoint(secretArn: string): string {
  const { partition, region } = parseArn(secretArn);
  return `secretsmanager.${region}.${partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com'}`;
}

/** Every secret a function reads: each target's own and its replicas' (throttling probes), once each. */
function secretArnsOf(input: SecretGrantInput): string[] {
  return [...new Set(input.targets.flatMap((t) => [t.secretArn, ...t.replicaSecretArns]))];
}

/** One statement's worth of grants before packing: the same actions and condition, many resources. */
interface Grant {
  readonly Action: string[];
  readonly Condition?: Record<string, Record<string, string>>;
  readonly resources: string[];
}

function secretGrants(input: SecretGrantInput, access: SecretAccess): Grant[] {
  const arns = secretArnsOf(input);
  // The functions only call GetSecretValue (lib/db/credentials.ts); DescribeSecret is not needed.
  const Action = ['secretsmanager:GetSecretValue'];
  if (access.mode === 'exact') return [{ Action, resources: arns.map((a) => (isCompleteSecretArn(a) ? a : `${a}-??????`)) }];
  // One pattern per region and account the configured secrets live in: nothing outside them is matched.
  const places = [...new Set(arns.map((a) => { const p = parseArn(a); return `arn:${p.partition}:secretsmanager:${p.region}:${p.account}:secret:`; }))];
  if (access.mode === 'name-prefix') return [{ Action, resources: places.map((p) => `${p}${access.prefix}*`) }];
  return [{ Action, Condition: { StringEquals: { [`secretsmanager:ResourceTag/${access.key}`]: access.value } }, resources: places.map((p) => `${p}*`) }];
}

function kmsGrants(input: SecretGrantInput): Grant[] {
  const byEndpoint = new Map<string, Set<string>>();
  input.targets.forEach((t, i) => {
    if (!t.kmsKeyArn) return;
    const key = parseArn(t.kmsKeyArn);
    const secret = parseArn(t.secretArn);
    if (key.region !== secret.region) {
      throw new SecretGrantError(
        `is in ${key.region}, the secret in ${secret.region}: Secrets Manager encrypts a secret with a key in the secret's own region ` +
          `(for a multi-Region key, give its replica's ARN in ${secret.region})`,
        ['targets', i, 'kmsKeyArn'],
      );
    }
    const endpoint = secretsManagerEndpoint(t.secretArn);
    byEndpoint.set(endpoint, (byEndpoint.get(endpoint) ?? new Set()).add(t.kmsKeyArn));
  });
  return [...byEndpoint].map(([endpoint, keys]) => ({
    Action: ['kms:Decrypt'],
    Condition: { StringEquals: { 'kms:ViaService': endpoint } },
    resources: [...keys],
  }));
}

/** IAM's count: the policy JSON without whitespace, keys in the order CloudFormation passes them on. */
function policyChars(statements: readonly GrantStatement[]): number {
  const rendered = statements.map((s) => ({ Action: s.Action, ...(s.Condition ? { Condition: s.Condition } : {}), Effect: s.Effect, Resource: s.Resource }));
  return JSON.stringify({ Statement: rendered, Version: '2012-10-17' }).length;
}

/**
 * The grant policies (each a list of statements under IAM's managed-policy size), or a SecretGrantError naming the field
 * to change when they do not fit the roles.
 */
export function planSecretGrants(input: SecretGrantInput, access: SecretAccess): GrantStatement[][] {
  const policies: GrantStatement[][] = [];
  let current: GrantStatement[] = [];
  for (const grant of [...secretGrants(input, access), ...kmsGrants(input)]) {
    let statement: { Effect: 'Allow'; Action: string[]; Resource: string[]; Condition?: Record<string, Record<string, string>> } | undefined;
    for (const resource of grant.resources) {
      if (!statement) {
        statement = { Effect: 'Allow', Action: grant.Action, Resource: [], ...(grant.Condition ? { Condition: grant.Condition } : {}) };
        current.push(statement);
      }
      statement.Resource.push(resource);
      if (policyChars(current) > PACKING_BUDGET_CHARS && (current.length > 1 || statement.Resource.length > 1)) {
        statement.Resource.pop();
        if (statement.Resource.length === 0) current.pop();
        policies.push(current);
        statement = { ...statement, Resource: [resource] };
        current = [statement];
      }
    }
  }
  if (current.length > 0) policies.push(current);
  if (policies.length > MAX_GRANT_POLICIES) {
    const secrets = secretArnsOf(input).length;
    const keys = new Set(input.targets.flatMap((t) => (t.kmsKeyArn ? [t.kmsKeyArn] : []))).size;
    const needs =
      `${policies.length} managed policies of ${MANAGED_POLICY_MAX_CHARS} characters; ` +
      `a function role takes at most ${MAX_GRANT_POLICIES} beside its AWS-managed ones`;
    throw new SecretGrantError(
      access.mode === 'exact'
        ? `listing ${secrets} secret ARNs and ${keys} KMS keys exactly needs ${needs}. Grant by name prefix ` +
            `({"mode":"name-prefix","prefix":"dbmaint/"}, every secret named dbmaint/…) or by tag ({"mode":"tag","key":"dbmaint","value":"read"})`
        : `listing ${keys} KMS keys (targets[].kmsKeyArn) exactly needs ${needs}: encrypt the targets' secrets with fewer keys`,
      ['fleet', 'secretAccess'],
    );
  }
  return policies;
}
