// The local runner's command line (issue 16, finding 8): every bad flag exits 2 naming it, never a stack trace; a refused
// or lost connection and Secrets Manager errors exit 3; a failed task 1; a run stopped at its time budget 0.
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../bin/dbmaint';
import { exitCodeOfError, exitCodeOfRoutine, EXIT } from '../bin/exit-codes';
import { CredentialsError, credentialsFromUrl } from '../lib/db/credentials';
import { freePort } from '../dev/mariadb-server';
import { adminConnection, freshSchema, serverUrl, TEST_SECRET_ARN } from './support/db';
import { repoRoot } from './support/synth';

const S = 'cli_t';
let admin: mysql.Connection;
let dir: string;

/** The test server's URL on schema S, or on another host:port (a closed port, the cutting proxy). */
function urlFor(port?: number): string {
  const u = new URL(serverUrl());
  if (port !== undefined) u.port = String(port);
  u.pathname = `/${S}`;
  return u.toString();
}

interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The CLI in-process: the same `main` the script runs, with its output captured. */
async function cli(args: string[], env: Record<string, string | undefined> = { DBMAINT_DATABASE_URL: urlFor() }): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t) }, env });
  return { code, stdout, stderr };
}

/** The CLI as an operator runs it: a child process, its real exit status. */
function spawnCli(args: string[], env: Record<string, string>): CliRun {
  const out = spawnSync('npx', ['tsx', 'bin/dbmaint.ts', ...args], { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, ...env } });
  return { code: out.status ?? -1, stdout: out.stdout, stderr: out.stderr };
}

/** stderr without the JSON log lines: what the operator reads. */
function said(run: CliRun): string {
  return run.stderr
    .split('\n')
    .filter((l) => l && !l.startsWith('{'))
    .join('\n');
}

const STACK = /^\s+at .+\(|^\s+at \//m;

function configFile(rules: unknown[]): string {
  const file = path.join(dir, `config-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify({ runLog: { schema: `${S}_log` }, targets: [{ name: 'cli', secretArn: TEST_SECRET_ARN, schemas: [S], cleanupRules: rules }] }));
  return file;
}

const RULE = { table: 'events', dateColumn: 'created_at', retentionDays: 30, action: 'delete' };

async function load(): Promise<void> {
  await freshSchema(admin, S);
  await admin.query(`USE ${S}`);
  await admin.query(`CREATE TABLE events (id INT PRIMARY KEY, created_at DATETIME NOT NULL, KEY (created_at))`);
  await admin.query(`INSERT INTO events SELECT seq, UTC_TIMESTAMP() - INTERVAL IF(seq <= 600, 40, 1) DAY FROM seq_1_to_1000`);
  await admin.query(`CREATE TABLE unindexed (id INT PRIMARY KEY, created_at DATETIME NOT NULL)`);
}

/** A TCP proxy to the test server that drops a connection the moment its client sends `marker`: a connection lost mid-run. */
async function cuttingProxy(marker: string): Promise<{ port: number; cuts: () => number; close: () => Promise<void> }> {
  const { host, port } = credentialsFromUrl(serverUrl());
  let cuts = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(port, host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    client.on('data', (d: Buffer) => {
      if (d.includes(marker)) {
        cuts++;
        client.destroy();
        upstream.destroy();
      } else {
        upstream.write(d);
      }
    });
    upstream.on('data', (d: Buffer) => client.write(d));
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    cuts: () => cuts,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

beforeAll(async () => {
  admin = await adminConnection();
  dir = mkdtempSync(path.join(os.tmpdir(), 'dbmaint-cli-'));
  await load();
});
afterAll(async () => {
  await admin.end();
});

describe('flags are checked like payload fields: exit 2, the flag named, no stack', () => {
  const cases: [string[], string][] = [
    [['archive-orders', '--days-old', '0'], '--days-old "0": Too small: expected number to be >=1'],
    [['archive-orders', '--days-old', 'abc'], '--days-old "abc": Invalid input: expected number, received string'],
    [['archive-orders', '--days-old', '-5'], '--days-old "-5": Too small: expected number to be >=1'],
    [['archive-orders', '--days-old', '1.5'], '--days-old "1.5": Invalid input: expected int, received number'],
    [['archive-orders', '--days-old', '40000'], '--days-old "40000": Too big: expected number to be <=36500'],
    [['cleanup-data', '--max-run-seconds', '0'], '--max-run-seconds "0": Too small: expected number to be >=1'],
    [['cleanup-data', '--max-run-seconds', 'abc'], '--max-run-seconds "abc": Invalid input: expected number, received string'],
    [['cleanup-data', '--max-run-seconds', '2.5'], '--max-run-seconds "2.5": Invalid input: expected int, received number'],
    [['cleanup-data', '--max-run-seconds', '0x10'], '--max-run-seconds "0x10": Invalid input: expected number, received string'],
    [['analyze-tables', '--days-old', '30'], '--days-old: not an option of analyze-tables (archive-orders only)'],
    [['collect-statistics', '--force'], '--force: not an option of collect-statistics (analyze-tables, cleanup-data, optimize-tables, rebuild-indexes only)'],
    [['analyze-tables', '--tables', ''], '--tables "": Too small: expected array to have >=1 items'],
    [['analyze-tables', '--tables', 'events,,t'], '--tables "events,,t" (item 2): must be table or schema.table (letters, digits, _ or $)'],
    [['analyze-tables', '--tables', 'a;DROP'], '--tables "a;DROP" (item 1): must be table or schema.table (letters, digits, _ or $)'],
    [['analyze-tables', '--target', 'Prod DB'], '--target "Prod DB": must be a target name from the configuration'],
    [['analyze-tables', '--target', 'nope'], "--target: unknown target 'nope' (configured: local)"],
    [['analyze-tables', '--bogus'], '--bogus: unknown flag'],
    [['analyze-tables', '--dry-run=no'], '--dry-run: takes no value (got "no")'],
    [['analyze-tables', '--target'], '--target: needs a value'],
    [['analyze-tables', '--days-old', '--force'], '--days-old: needs a value'],
    [['analyze-tables', '--force', '--force'], '--force: given twice'],
    [['analyze-tables', 'events'], 'unexpected argument(s) after analyze-tables: "events"'],
    [['analyze-tables', '--config', ''], '--config: needs a file name'],
    [['daily-maintenance', '--max-run-seconds', '60'], '--max-run-seconds: not an option of routines'],
    [['drop-everything'], "unknown task or routine 'drop-everything'"],
    [[], 'a task or routine id is required'],
    [['list', '--dry-run'], '--dry-run: not an option of list'],
  ];
  for (const [args, message] of cases) {
    it(`${args.join(' ') || '(nothing)'}`, async () => {
      const run = await cli(args);
      expect(run.code).toBe(2);
      expect(said(run)).toContain(`dbmaint: ${message}`);
      expect(run.stderr).not.toMatch(STACK);
      expect(run.stdout).toBe('');
    });
  }

  it('reports several bad flags at once, each on its own line', async () => {
    const run = await cli(['archive-orders', '--days-old', '0', '--max-run-seconds', 'x']);
    expect(said(run)).toContain('dbmaint: --max-run-seconds "x": Invalid input: expected number, received string\n--days-old "0": Too small');
  });

  it('a bad configuration file or database URL is invalid input too', async () => {
    const missing = await cli(['analyze-tables', '--config', path.join(dir, 'nope.json')]);
    expect([missing.code, said(missing)]).toEqual([2, expect.stringContaining('dbmaint: cannot read configuration file')]);
    const url = await cli(['analyze-tables'], { DBMAINT_DATABASE_URL: 'postgres://x@y/z' });
    expect([url.code, said(url)]).toEqual([2, expect.stringContaining('dbmaint: DBMAINT_DATABASE_URL: database URL must start with mysql://')]);
    const conflict = await cli(['cleanup-data', '--config', configFile([RULE, { ...RULE, retentionDays: 90 }])]);
    expect([conflict.code, said(conflict)]).toEqual([2, expect.stringContaining(`config.targets[0].cleanupRules[1].table: ${S}.events is also targets[0].cleanupRules[0].table`)]);
  });

  it('as a process: `--days-old -5` exits 2 with the flag named and no Node stack trace', () => {
    const run = spawnCli(['archive-orders', '--days-old', '-5'], { DBMAINT_DATABASE_URL: urlFor() });
    expect(run.code).toBe(2);
    expect(said(run)).toBe('dbmaint: --days-old "-5": Too small: expected number to be >=1\n(npm run dbmaint -- --help for the usage)');
    expect(run.stderr).not.toMatch(STACK);
  });
});

describe('exit status of runs', () => {
  it('0: a dry run that succeeded; also a run stopped at its time budget with work left', async () => {
    const ok = await cli(['cleanup-data', '--dry-run', '--config', configFile([RULE])]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/Status {4}succeeded/);
    // One second is below the 5 s the runner keeps for a rule, so no rule starts: the run stops at its budget.
    const stopped = await cli(['cleanup-data', '--max-run-seconds', '1', '--config', configFile([RULE])]);
    expect(stopped.stdout).toMatch(/Status {4}stopped-at-deadline/);
    expect(stopped.code).toBe(0);
  });

  it('1: the task failed (a rule refused: its date column has no index)', async () => {
    const run = await cli(['cleanup-data', '--dry-run', '--config', configFile([{ ...RULE, table: 'unindexed' }])]);
    expect(run.stdout).toMatch(/Status {4}failed/);
    expect(run.code).toBe(1);
    expect(run.stderr).not.toMatch(STACK);
  });

  it('3: the connection is refused (a closed port), as a process too', async () => {
    const port = await freePort();
    const run = await cli(['analyze-tables'], { DBMAINT_DATABASE_URL: urlFor(port) });
    expect([run.code, said(run)]).toEqual([3, `dbmaint: connection refused by 127.0.0.1:${port}: is the server running and the port right?`]);
    const proc = spawnCli(['analyze-tables'], { DBMAINT_DATABASE_URL: urlFor(port) });
    expect([proc.code, said(proc)]).toEqual([3, `dbmaint: connection refused by 127.0.0.1:${port}: is the server running and the port right?`]);
  });

  it('3: the connection is lost mid-run (PROTOCOL_CONNECTION_LOST), rows left as they were', async () => {
    await load();
    const proxy = await cuttingProxy('GET_LOCK');
    try {
      const run = await cli(['cleanup-data', '--config', configFile([RULE])], { DBMAINT_DATABASE_URL: urlFor(proxy.port) });
      expect(proxy.cuts()).toBe(1);
      expect(run.code).toBe(3);
      expect(said(run)).toMatch(/^dbmaint: Connection lost: The server closed the connection\.$/);
      expect(run.stderr).not.toMatch(STACK);
    } finally {
      await proxy.close();
    }
    const [rows] = await admin.query<mysql.RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${S}.events`);
    expect(Number(rows[0]!['n'])).toBe(1000);
  });

  it('3: access denied at login', async () => {
    const u = new URL(urlFor());
    u.password = 'not-the-password';
    const run = await cli(['analyze-tables'], { DBMAINT_DATABASE_URL: u.toString() });
    expect(run.code).toBe(3);
    expect(said(run)).toMatch(/^dbmaint: access denied connecting to /);
  });

  it('3: Secrets Manager cannot give the secret', async () => {
    const sm = mockClient(SecretsManagerClient);
    sm.on(GetSecretValueCommand).rejects(Object.assign(new Error("User is not authorized to perform: secretsmanager:GetSecretValue"), { name: 'AccessDeniedException' }));
    try {
      const run = await cli(['analyze-tables', '--config', configFile([])], {});
      expect(run.code).toBe(3);
      expect(said(run)).toBe(`dbmaint: cannot read secret ${TEST_SECRET_ARN}: AccessDeniedException: User is not authorized to perform: secretsmanager:GetSecretValue`);
    } finally {
      sm.restore();
    }
  });

  it('routines: the worst step decides (3 when the database is unreachable)', async () => {
    const run = await cli(['daily-maintenance', '--dry-run'], { DBMAINT_DATABASE_URL: urlFor(await freePort()) });
    expect(run.stdout).toContain('=== daily-maintenance: preflight — failed ===');
    expect(run.code).toBe(3);
    const ok = await cli(['daily-maintenance', '--dry-run', '--config', configFile([RULE])]);
    expect(ok.stdout).toContain('=== daily-maintenance: cleanup-data — succeeded ===');
    expect(ok.code).toBe(0);
  });
});

describe('error classification', () => {
  it('real mysql2 errors: a killed session is unreachable (3), a missing grant is a failed task (1)', async () => {
    const victim = await adminConnection(urlFor());
    const [[me]] = await victim.query<mysql.RowDataPacket[]>('SELECT CONNECTION_ID() AS id');
    await admin.query(`KILL ${Number(me!['id'])}`);
    const lost = await victim.query('SELECT 1').catch((e: unknown) => e);
    victim.destroy();
    expect(exitCodeOfError(lost)).toBe(EXIT.unreachable);

    await admin.query("CREATE USER IF NOT EXISTS 'cli_ro'@'%' IDENTIFIED BY 'cli-pass'");
    const u = new URL(urlFor());
    u.username = 'cli_ro';
    u.password = 'cli-pass';
    u.pathname = '/';
    const limited = await adminConnection(u.toString());
    const denied = await limited.query(`DELETE FROM ${S}.events`).catch((e: unknown) => e);
    await limited.end();
    await admin.query("DROP USER 'cli_ro'@'%'");
    expect((denied as { code?: string }).code).toMatch(/^ER_(TABLEACCESS|DBACCESS)_DENIED_ERROR$/);
    expect(exitCodeOfError(denied)).toBe(EXIT.failed);

    expect(exitCodeOfError(new CredentialsError('cannot read secret x'))).toBe(EXIT.unreachable);
    expect(exitCodeOfError(new Error('bug'))).toBe(EXIT.failed);
  });

  it('a routine: unreachable before invalid input before failed', () => {
    const routine = { routine: 'daily-maintenance', target: 't', execution: 'e', status: 'failed' as const, steps: [] };
    const lost = Object.assign(new Error('Connection lost'), { code: 'PROTOCOL_CONNECTION_LOST' });
    expect(exitCodeOfRoutine(routine, [new Error('x'), lost])).toBe(EXIT.unreachable);
    expect(exitCodeOfRoutine({ ...routine, status: 'succeeded' }, [])).toBe(EXIT.succeeded);
  });
});
