// Secrets never appear (issue 6): the database password served from Secrets Manager must not show up in any
// log line, result, EMF document, mail or run-log row — not on success, not when the connection fails.
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { createHash, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import type mysql from 'mysql2/promise';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { runLocalRoutine } from '../bin/local-runner';
import { ROUTINES, TASKS, type TaskId } from '../lib/catalogue';
import type { DbMaintConfig } from '../lib/config/schema';
import { credentialsFromUrl, SecretsManagerCredentialSource } from '../lib/db/credentials';
import { EmfMetricsPublisher } from '../lib/metrics/emf';
import { freePort } from '../dev/mariadb-server';
import { LocalMailbox } from '../lib/reporting/mail/local-mailbox';
import { Deadline } from '../lib/runtime/deadline';
import { jsonLineLog } from '../lib/runtime/log';
import { runTask } from '../lib/tasks/registry';
import type { TaskEnvironment } from '../lib/tasks/task-module';
import { adminConnection, freshSchema, serverUrl, testConfig } from './support/db';

const SCHEMA = 'secret_t';
const LOG_SCHEMA = 'secret_t_log';
const USER = 'secret_user';
const ARN = 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:secret-db-AbCdEf';
/** The random core of the canary: found even if only part of the password leaked. */
const TOKEN = randomBytes(12).toString('hex');
/** Characters that URL-encoding, JSON and base64 each change, so every encoded form differs from the raw one. */
const PASSWORD = `S3cr3t-canary-${TOKEN}/+=@#%?&"\\`;
const WRONG_TOKEN = randomBytes(12).toString('hex');
const WRONG_PASSWORD = `Wr0ng-canary-${WRONG_TOKEN}/+=@#`;

/** mysql_native_password's stored form, `*` + SHA1(SHA1(password)): a crackable stand-in for the password itself. */
function nativeHash(password: string): string {
  const inner = createHash('sha1').update(password, 'utf8').digest();
  return '*' + createHash('sha1').update(inner).digest('hex').toUpperCase();
}

/** Every form in which a password could leak: raw, its random core, URL-, JSON-, base64- and hex-encoded, its hash. */
function leakForms(password: string, token: string): string[] {
  const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
  return [
    password,
    token,
    encodeURIComponent(password),
    encodeURI(password),
    JSON.stringify(password).slice(1, -1),
    b64(password),
    Buffer.from(password, 'utf8').toString('base64url'),
    // Inside a longer base64 text the encoding depends on the token's offset modulo 3: for each offset, the
    // characters that depend on the token's bytes alone (the first and last groups also depend on their neighbours).
    ...[0, 1, 2].map((pad) => b64('x'.repeat(pad) + token).slice(4, -4)),
    Buffer.from(password, 'utf8').toString('hex'),
    Buffer.from(password, 'utf8').toString('hex').toUpperCase(),
    nativeHash(password),
    nativeHash(password).slice(1).toLowerCase(),
  ];
}

function expectNoSecret(where: string, texts: readonly string[], password = PASSWORD, token = TOKEN): void {
  const forms = leakForms(password, token);
  texts.forEach((text, i) => {
    for (const form of forms) {
      if (text.includes(form)) throw new Error(`${where}[${i}] contains the secret (as ${JSON.stringify(form)}): ${text.slice(0, 300)}`);
    }
  });
}

let admin: mysql.Connection;
const sm = mockClient(SecretsManagerClient);
const server = credentialsFromUrl(serverUrl());

function secretString(over: Record<string, unknown> = {}): string {
  // The shape RDS writes for a managed secret.
  return JSON.stringify({ engine: 'mariadb', host: server.host, port: server.port, username: USER, password: PASSWORD, dbname: SCHEMA, dbInstanceIdentifier: 'secret-db', ...over });
}

function config(): DbMaintConfig {
  return testConfig(
    [SCHEMA],
    {
      targets: [
        {
          name: 'secret',
          secretArn: ARN,
          schemas: [SCHEMA],
          cleanupRules: [{ table: 'sessions', dateColumn: 'expire_date', retentionDays: 30, action: 'delete' }],
          archiveOrders: { table: 'orders', dateColumn: 'completed_at', statusColumn: 'status', completedValues: ['completed'], daysOld: 365 },
          rebuildTables: ['orders'],
        },
      ],
      thresholds: { fragmentationPercent: 1, optimizeMinSizeMb: 0, analyzeAfterDays: 7 },
      optimize: { minDaysBetweenRebuilds: 0 },
      reports: { from: 'dbmaint@example.com', to: ['dba@example.com'] },
    },
    LOG_SCHEMA,
  );
}

/** Whatever the process writes to stdout/stderr or the console meanwhile (Powertools, warnings, stray prints). */
const console_: string[] = [];
beforeEach(() => {
  sm.reset();
  console_.length = 0;
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream);
    vi.spyOn(stream, 'write').mockImplementation(((chunk: unknown, ...rest: unknown[]) => {
      console_.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
      return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof stream.write);
  }
  for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    const original = console[method].bind(console);
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      console_.push(args.map((a) => (typeof a === 'string' ? a : inspect(a, { depth: 10 }))).join(' '));
      original(...args);
    });
  }
});
afterEach(() => {
  vi.restoreAllMocks();
});

/** Every row of every table in the run log schema (command_log, task_run, history, alert state…), as JSON. */
async function runLogRows(): Promise<string[]> {
  const [tables] = await admin.query<mysql.RowDataPacket[]>('SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?', [LOG_SCHEMA]);
  const out: string[] = [];
  for (const t of tables) {
    const [rows] = await admin.query<mysql.RowDataPacket[]>(`SELECT * FROM \`${LOG_SCHEMA}\`.\`${String(t['t']).replaceAll('`', '``')}\``);
    out.push(...rows.map((r) => `${String(t['t'])}: ${JSON.stringify(r)}`));
  }
  return out;
}

beforeAll(async () => {
  admin = await adminConnection();
  await freshSchema(admin, SCHEMA);
  await admin.query(`DROP DATABASE IF EXISTS \`${LOG_SCHEMA}\``);
  await admin.query(`USE \`${SCHEMA}\``);
  await admin.query('CREATE TABLE sessions (k CHAR(40) PRIMARY KEY, data TEXT NOT NULL, expire_date DATETIME NOT NULL, KEY ix_expire (expire_date)) ENGINE=InnoDB');
  await admin.query("INSERT INTO sessions SELECT SHA1(seq), REPEAT('s', 200), UTC_TIMESTAMP() - INTERVAL (seq % 60) DAY FROM seq_1_to_3000");
  await admin.query(
    'CREATE TABLE orders (id INT PRIMARY KEY, status VARCHAR(20) NOT NULL, completed_at DATETIME NULL, total DECIMAL(10,2) NOT NULL, KEY ix_completed (completed_at), KEY ix_status (status), KEY ix_status_dup (status)) ENGINE=InnoDB',
  );
  await admin.query("INSERT INTO orders SELECT seq, IF(seq % 3 = 0, 'open', 'completed'), UTC_TIMESTAMP() - INTERVAL (seq % 800) DAY, seq FROM seq_1_to_3000");
  await admin.query('CREATE TABLE legacy (id INT PRIMARY KEY) ENGINE=MyISAM');
  await admin.query("UPDATE mysql.innodb_table_stats SET last_update = UTC_TIMESTAMP() - INTERVAL 30 DAY WHERE database_name = ?", [SCHEMA]);
  await admin.query('USE mysql');

  await admin.query(`DROP USER IF EXISTS ?@'%'`, [USER]);
  await admin.query(`CREATE USER ?@'%' IDENTIFIED BY ?`, [USER, PASSWORD]);
  for (const schema of [SCHEMA, LOG_SCHEMA]) await admin.query(`GRANT ALL PRIVILEGES ON \`${schema}\`.* TO ?@'%'`, [USER]);
  await admin.query(`GRANT SELECT ON mysql.innodb_table_stats TO ?@'%'`, [USER]);
  await admin.query(`GRANT SELECT ON mysql.innodb_index_stats TO ?@'%'`, [USER]);
  await admin.query(`GRANT SELECT ON performance_schema.* TO ?@'%'`, [USER]);
  await admin.query(`GRANT PROCESS ON *.* TO ?@'%'`, [USER]);
});
afterAll(async () => {
  await admin.query(`DROP USER IF EXISTS ?@'%'`, [USER]);
  await admin.end();
});

describe('the leak check itself', () => {
  it('finds the password in each of its encoded forms, and in a longer base64 text', () => {
    for (const form of leakForms(PASSWORD, TOKEN)) expect(() => expectNoSecret('planted', [`before ${form} after`])).toThrow(/contains the secret/);
    for (const pad of ['', 'a', 'ab']) {
      expect(() => expectNoSecret('planted', [Buffer.from(`${pad}{"password":"${PASSWORD}"}`).toString('base64')])).toThrow(/contains the secret/);
    }
    expect(() => expectNoSecret('clean', ['nothing to see', secretString({ password: 'other' }).replace(USER, 'u')])).not.toThrow();
  });
});

describe('secrets never appear in what a run records', () => {
  it.each(ROUTINES.map((r) => [r.id]))('%s with the password from Secrets Manager: logs, results, EMF, mails and run-log rows are clean', async (routineId) => {
    sm.on(GetSecretValueCommand, { SecretId: ARN }).resolves({ ARN, Name: 'secret-db', SecretString: secretString() });
    const lines: string[] = [];
    const mailbox = new LocalMailbox();
    const outputs: { where: string; texts: string[] }[] = [];
    for (const dryRun of [true, false]) {
      // The local runner's own wiring: no URL, so the secret is read through SecretsManagerCredentialSource (mocked SDK).
      const out = await runLocalRoutine({ routine: routineId, config: config(), log: jsonLineLog((l) => lines.push(l)), mailer: mailbox, dryRun });
      const ran = out.routine.steps.map((s) => `${s.task}=${s.status}`);
      // Every step really ran with these credentials (nothing skipped or failed): the outputs below are the real ones.
      expect(ran, JSON.stringify(out.routine.steps.map((s) => s.error ?? ''))).toEqual(
        ROUTINES.find((r) => r.id === routineId)!.steps.map((s) => `${s.task}=succeeded`),
      );
      outputs.push({ where: `result (dryRun ${dryRun})`, texts: [JSON.stringify(out.routine), inspect(out.routine, { depth: 20 })] });
      outputs.push({ where: `emf (dryRun ${dryRun})`, texts: [...out.emf] });
      expect(out.emf.length).toBeGreaterThan(0);
    }
    expect(sm.commandCalls(GetSecretValueCommand).length).toBeGreaterThan(0);
    expect(lines.length).toBeGreaterThan(0);
    expect(mailbox.mails.length).toBeGreaterThan(0);
    const rows = await runLogRows();
    expect(rows.some((r) => r.startsWith('command_log:'))).toBe(true);
    expect(rows.some((r) => r.startsWith('task_run:'))).toBe(true);

    outputs.push({ where: 'log', texts: lines });
    outputs.push({ where: 'mail', texts: mailbox.mails.map((m) => JSON.stringify(m)) });
    outputs.push({ where: 'run log rows', texts: rows });
    outputs.push({ where: 'stdout/stderr/console', texts: [...console_] });
    for (const o of outputs) expectNoSecret(o.where, o.texts);
  });

  it.each(TASKS.map((t) => [t.id as TaskId]))('%s through runTask: the result, its log lines and its EMF are clean', async (task) => {
    sm.on(GetSecretValueCommand, { SecretId: ARN }).resolves({ SecretString: secretString() });
    const lines: string[] = [];
    const emf: string[] = [];
    const mailbox = new LocalMailbox();
    const env: TaskEnvironment = {
      config: config(),
      credentials: new SecretsManagerCredentialSource(new SecretsManagerClient({ region: 'eu-central-1' })),
      metrics: new EmfMetricsPublisher('DbMaint', (l) => emf.push(l)),
      log: jsonLineLog((l) => lines.push(l), 'debug'),
      deadline: Deadline.unlimited(),
      mailer: mailbox,
    };
    const result = await runTask(task, {}, env);
    expect(result.status).toBe('succeeded');
    expect(result.server).toMatch(/MariaDB/);
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    expectNoSecret('result', [JSON.stringify(result), inspect(result, { depth: 20 })]);
    expectNoSecret('log', lines);
    expectNoSecret('emf', emf);
    expectNoSecret('mail', mailbox.mails.map((m) => JSON.stringify(m)));
    expectNoSecret('run log rows', await runLogRows());
    expectNoSecret('stdout/stderr/console', console_);
  });
});

describe('secrets never appear when the connection fails', () => {
  /** Runs analyze-tables with the given secret; returns everything it left behind. */
  async function failingRun(secret: string, task: TaskId = 'analyze-tables') {
    sm.on(GetSecretValueCommand, { SecretId: ARN }).resolves({ SecretString: secret });
    const lines: string[] = [];
    const emf: string[] = [];
    const env: TaskEnvironment = {
      config: testConfig([SCHEMA], { targets: [{ name: 'secret', secretArn: ARN, schemas: [SCHEMA] }], session: { connectTimeoutSeconds: 5 } }, LOG_SCHEMA),
      credentials: new SecretsManagerCredentialSource(new SecretsManagerClient({ region: 'eu-central-1' })),
      metrics: new EmfMetricsPublisher('DbMaint', (l) => emf.push(l)),
      log: jsonLineLog((l) => lines.push(l), 'debug'),
      deadline: Deadline.unlimited(),
      mailer: new LocalMailbox(),
    };
    const error = await runTask(task, {}, env).then(
      () => undefined,
      (e: unknown) => e as Error & { taskResult?: unknown },
    );
    expect(error, 'the run succeeded').toBeInstanceOf(Error);
    // The failure is counted, so the check below looks at real output.
    expect(emf.some((l) => (JSON.parse(l) as Record<string, unknown>)['TaskFailed'] === 1)).toBe(true);
    expect(lines.some((l) => (JSON.parse(l) as { message: string }).message === 'task failed')).toBe(true);
    const texts = [error!.message, String(error!.stack), inspect(error, { depth: 20, showHidden: true }), JSON.stringify(error!.taskResult), ...lines, ...emf, ...console_];
    return { error: error!, texts };
  }

  it('a host that does not resolve', async () => {
    const { error, texts } = await failingRun(secretString({ host: 'secret-db.invalid' }));
    expect(error.message).toMatch(/secret-db\.invalid/);
    expectNoSecret('wrong host', texts);
  });

  it('a port where nothing listens', async () => {
    const port = await freePort();
    const { error, texts } = await failingRun(secretString({ host: '127.0.0.1', port }));
    expect(error.message).toMatch(new RegExp(`connection refused by 127\\.0\\.0\\.1:${port}`));
    expectNoSecret('closed port', texts);
  });

  it('a wrong password: neither the wrong one nor the right one appears', async () => {
    const { error, texts } = await failingRun(secretString({ password: WRONG_PASSWORD }));
    expect(error.message).toMatch(/access denied connecting to/);
    // The secret was re-read once (a rotation may have happened) before giving up.
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
    expectNoSecret('wrong password', texts, WRONG_PASSWORD, WRONG_TOKEN);
    expectNoSecret('wrong password', texts);
  });

  it('a user that does not exist', async () => {
    const { error, texts } = await failingRun(secretString({ username: 'secret_nobody' }));
    expect(error.message).toMatch(/access denied connecting to/);
    expectNoSecret('unknown user', texts);
  });

  it('a malformed secret (password under the wrong key) is not echoed', async () => {
    const { error, texts } = await failingRun(JSON.stringify({ host: server.host, port: server.port, username: USER, pwd: PASSWORD }));
    expect(error.message).toMatch(/malformed: missing or invalid field\(s\) password/);
    expectNoSecret('malformed secret', texts);
  });

  it('a secret that is the bare password, not JSON, is not echoed', async () => {
    const { error, texts } = await failingRun(PASSWORD);
    expect(error.message).toMatch(/is not JSON/);
    expectNoSecret('plain-text secret', texts);
  });

  it('a routine whose every step is refused the connection: step errors, logs, EMF and mails are clean', async () => {
    sm.on(GetSecretValueCommand, { SecretId: ARN }).resolves({ SecretString: secretString({ password: WRONG_PASSWORD }) });
    const lines: string[] = [];
    const mailbox = new LocalMailbox();
    const out = await runLocalRoutine({ routine: 'daily-maintenance', config: config(), log: jsonLineLog((l) => lines.push(l)), mailer: mailbox });
    expect(out.routine.status).toBe('failed');
    expect(out.routine.steps.every((s) => s.status === 'failed' && /access denied/.test(s.error ?? ''))).toBe(true);
    const texts = [JSON.stringify(out.routine), inspect(out.routine, { depth: 20 }), ...out.emf, ...lines, ...mailbox.mails.map((m) => JSON.stringify(m)), ...console_];
    expectNoSecret('refused routine', texts, WRONG_PASSWORD, WRONG_TOKEN);
    expectNoSecret('refused routine', texts);
  });
});
