// Starts one real MariaDB server for the whole test run (each test file works in its own schema).
import type { TestProject } from 'vitest/node';
import { ensureMariaDb, ensurePerconaToolkit, startLocalMariaDb, type LocalMariaDb } from '../../dev/mariadb-server';

declare module 'vitest' {
  export interface ProvidedContext {
    mariadbUrl: string;
  }
}

let server: LocalMariaDb | undefined;

export async function setup(project: TestProject): Promise<void> {
  // DBMAINT_TEST_DATABASE_URL reuses a running server (an account that may create schemas and users).
  const external = process.env['DBMAINT_TEST_DATABASE_URL'];
  if (external) {
    project.provide('mariadbUrl', external);
    return;
  }
  ensureMariaDb((line) => process.stderr.write(line + '\n'));
  ensurePerconaToolkit((line) => process.stderr.write(line + '\n'));
  server = await startLocalMariaDb();
  project.provide('mariadbUrl', server.url);
}

export async function teardown(): Promise<void> {
  await server?.stop();
}
