// Test helpers: an admin connection to the test server and a fresh schema per test file.
import mysql from 'mysql2/promise';
import { inject } from 'vitest';
import { credentialsFromUrl } from '../../lib/db/credentials';
import type { DbMaintConfig } from '../../lib/config/schema';
import { parseConfig } from '../../lib/config/load';

let ownServer: string | undefined;

/** The test server: the shared one, or the file's own after `useOwnServer`. */
export function serverUrl(): string {
  return ownServer ?? inject('mariadbUrl');
}

/**
 * Send this test file's sessions (serverUrl and everything built on it) to a server of its own: for tests whose subject
 * is how the engine reads server-wide activity, which the other files running at the same time would otherwise write to.
 */
export function useOwnServer(url: string): void {
  ownServer = url;
}

/** An admin connection to the shared test server, or to the server at `url` (a test's private one). */
export async function adminConnection(url: string = serverUrl()): Promise<mysql.Connection> {
  const c = credentialsFromUrl(url);
  return mysql.createConnection({ host: c.host, port: c.port, user: c.user, password: c.password, multipleStatements: true, timezone: 'Z' });
}

/** Drop and create a schema; returns its name. */
export async function freshSchema(admin: mysql.Connection, name: string): Promise<string> {
  await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
  await admin.query(`CREATE DATABASE \`${name}\``);
  return name;
}

export const TEST_SECRET_ARN = 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:test-db-AbCdEf';

/** The test target ('test', TEST_SECRET_ARN) on `schemas`, with the given fields (rules, archiveOrders…) added. */
export function testTarget(schemas: string[], fields: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: 'test', secretArn: TEST_SECRET_ARN, schemas, ...fields };
}

export function testConfig(schemas: string[], extra: Record<string, unknown> = {}, runLogSchema = `${schemas[0]}_log`): DbMaintConfig {
  return parseConfig({
    targets: [testTarget(schemas)],
    runLog: { schema: runLogSchema },
    // The server advisor's sample (5 s by default) shortened: the tests that judge it sample their own servers.
    recommendations: { advisorSampleSeconds: 0.5 },
    ...extra,
  });
}
