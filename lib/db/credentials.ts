// Database credentials: from a Secrets Manager secret (RDS-generated shape, cached across warm starts) or a local URL.
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import * as z from 'zod';

export interface DbCredentials {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database?: string;
}

/** Where credentials come from; the Lambda uses Secrets Manager, tests and the local runner a URL. */
export interface CredentialSource {
  get(secretArn: string, options?: { refresh?: boolean }): Promise<DbCredentials>;
}

export class CredentialsError extends Error {
  override readonly name = 'CredentialsError';
}

// The shape RDS writes for a managed or rotated secret; extra keys (engine, dbClusterIdentifier…) are ignored.
const rdsSecretSchema = z.object({
  host: z.string().min(1),
  port: z.union([z.number().int(), z.string().regex(/^\d+$/)]).optional(),
  username: z.string().min(1),
  password: z.string().min(1),
  dbname: z.string().optional(),
});

/** Parse a secret string; the message names missing fields but never echoes the secret's content. */
export function parseSecretString(secretString: string, secretArn: string): DbCredentials {
  let raw: unknown;
  try {
    raw = JSON.parse(secretString);
  } catch {
    throw new CredentialsError(`secret ${secretArn} is not JSON: expected {"host","port","username","password"}`);
  }
  const parsed = rdsSecretSchema.safeParse(raw);
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map((i) => String(i.path[0] ?? '?')))];
    throw new CredentialsError(`secret ${secretArn} is malformed: missing or invalid field(s) ${fields.join(', ')}`);
  }
  const s = parsed.data;
  return {
    host: s.host,
    port: s.port === undefined ? 3306 : Number(s.port),
    user: s.username,
    password: s.password,
    ...(s.dbname ? { database: s.dbname } : {}),
  };
}

/**
 * Secrets Manager with a short in-memory cache: warm invocations skip the API call,
 * and a TTL (plus `refresh` after an authentication failure) picks up rotated passwords.
 */
export class SecretsManagerCredentialSource implements CredentialSource {
  private readonly cache = new Map<string, { value: DbCredentials; expires: number }>();

  constructor(
    private readonly client: SecretsManagerClient = new SecretsManagerClient({}),
    private readonly ttlMs = 5 * 60_000,
  ) {}

  async get(secretArn: string, options: { refresh?: boolean } = {}): Promise<DbCredentials> {
    const hit = this.cache.get(secretArn);
    if (hit && !options.refresh && hit.expires > Date.now()) return hit.value;
    let secretString: string | undefined;
    try {
      const out = await this.client.send(new GetSecretValueCommand({ SecretId: secretArn }));
      secretString = out.SecretString;
    } catch (err) {
      const e = err as Error;
      throw new CredentialsError(`cannot read secret ${secretArn}: ${e.name}: ${e.message}`);
    }
    if (secretString === undefined) {
      throw new CredentialsError(`secret ${secretArn} has no SecretString (binary secrets are not supported)`);
    }
    const value = parseSecretString(secretString, secretArn);
    this.cache.set(secretArn, { value, expires: Date.now() + this.ttlMs });
    return value;
  }
}

/** mysql://user:pass@host:port/schema — the local runner's and the tests' connection. */
export function credentialsFromUrl(url: string): DbCredentials {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new CredentialsError('database URL is not a valid URL: expected mysql://user:password@host:port/schema');
  }
  if (u.protocol !== 'mysql:' && u.protocol !== 'mariadb:') {
    throw new CredentialsError(`database URL must start with mysql:// (got ${u.protocol}//)`);
  }
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 3306,
    user: decodeURIComponent(u.username || 'root'),
    password: decodeURIComponent(u.password),
    ...(database ? { database } : {}),
  };
}

/** Every target resolves to the same URL credentials (the local runner's override). */
export class UrlCredentialSource implements CredentialSource {
  private readonly creds: DbCredentials;
  constructor(url: string) {
    this.creds = credentialsFromUrl(url);
  }
  async get(): Promise<DbCredentials> {
    return this.creds;
  }
}
