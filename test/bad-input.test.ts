// Bad input (issue 6): every catalogue task rejects hostile event payloads before any SQL runs, with the field named;
// and hostile identifiers read from the server itself are quoted everywhere a task uses them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type mysql from 'mysql2/promise';
import { TASKS, type TaskId } from '../lib/catalogue';
import { UrlCredentialSource, type CredentialSource } from '../lib/db/credentials';
import { EventValidationError } from '../lib/events/schema';
import type { AnalyzeResult } from '../lib/maintenance/analyze';
import type { OptimizeResult } from '../lib/maintenance/optimize';
import type { RebuildResult } from '../lib/maintenance/rebuild';
import type { MetricsPublisher } from '../lib/metrics/emf';
import type { RecommendationsResult } from '../lib/recommend/types';
import { LocalMailbox } from '../lib/reporting/mail/local-mailbox';
import { Deadline } from '../lib/runtime/deadline';
import { jsonLineLog } from '../lib/runtime/log';
import type { CollectResult } from '../lib/stats/collect';
import { runTask } from '../lib/tasks/registry';
import type { TaskEnvironment, TaskRunResult } from '../lib/tasks/task-module';
import { adminConnection, freshSchema, serverUrl, TEST_SECRET_ARN, testConfig, testTarget } from './support/db';

// ---------------------------------------------------------------------------------------------
// 1. Payloads: rejected by runTask before any connection, for every task of the catalogue.
// ---------------------------------------------------------------------------------------------

const PAYLOAD_SCHEMA = 'badin_p';
const TASK_IDS = TASKS.map((t) => t.id) as TaskId[];

/** Every task applies to this target (cleanup rules, archiveOrders, rebuildTables, reports), so no case is masked by a "not configured" error. */
const PAYLOAD_CONFIG = testConfig([PAYLOAD_SCHEMA], {
  reports: { from: 'dbmaint@example.com', to: ['dba@example.com'] },
  targets: [
    testTarget([PAYLOAD_SCHEMA], {
      cleanupRules: [{ table: 'sessions', dateColumn: 'expire_date', retentionDays: 30, action: 'delete' }],
      archiveOrders: {},
      rebuildTables: ['orders'],
    }),
  ],
});

/** Fields only some tasks accept, and a value each accepting task takes. */
const OPTIONAL_FIELDS = {
  tables: ['sessions'],
  force: true,
  daysOld: 30,
  steps: [],
  periodHours: 24,
} as const;
type OptionalField = keyof typeof OPTIONAL_FIELDS;

/** Which of those fields each task accepts (a task not listed accepts none of them). */
const ACCEPTS: Partial<Record<string, readonly OptionalField[]>> = {
  'analyze-tables': ['tables', 'force'],
  'cleanup-data': ['tables', 'force'],
  'archive-orders': ['daysOld'],
  'optimize-tables': ['tables', 'force'],
  'rebuild-indexes': ['tables', 'force'],
  'daily-report': ['steps', 'periodHours'],
  'weekly-report': ['steps', 'periodHours'],
};
const accepts = (task: string, field: OptionalField) => (ACCEPTS[task] ?? []).includes(field);

/** An environment that records every attempt to reach the database, publish a metric, log or mail. */
function guardedEnv() {
  const connects: string[] = [];
  const published: string[] = [];
  const lines: string[] = [];
  const mailbox = new LocalMailbox();
  const credentials: CredentialSource = {
    get(secretArn: string) {
      connects.push(secretArn);
      // The session is opened only after validation: reaching here means the payload was let through.
      return Promise.reject(new Error(`a database connection was attempted (${secretArn})`));
    },
  };
  const metrics: MetricsPublisher = {
    publish(task, db, points, table) {
      published.push(...points.map((p) => `${task}/${db}/${table ?? '*'}:${p.name}=${p.value}`));
      return undefined;
    },
  };
  const env: TaskEnvironment = {
    config: PAYLOAD_CONFIG,
    credentials,
    metrics,
    log: jsonLineLog((l) => lines.push(l)),
    deadline: Deadline.unlimited(),
    mailer: mailbox,
  };
  return { env, connects, published, lines, mailbox };
}

async function outcomeOf(task: TaskId, payload: unknown) {
  const g = guardedEnv();
  const error = await runTask(task, payload, g.env).then(
    () => undefined,
    (e: unknown) => e,
  );
  return { ...g, error };
}

/** The payload is refused as input, naming `field`, and nothing reached the database, the metrics, the run log or the mail. */
async function expectRejected(task: TaskId, payload: unknown, field: string): Promise<void> {
  const { error, connects, published, lines, mailbox } = await outcomeOf(task, payload);
  expect(error, 'the payload was accepted').toBeInstanceOf(EventValidationError);
  const message = (error as Error).message;
  expect(message).toContain(field);
  // A 10 kB value is named, never echoed back whole into logs and alarms.
  expect(message.length).toBeLessThan(2000);
  expect(connects, 'a connection was attempted').toEqual([]);
  expect(published, 'metrics were published').toEqual([]);
  expect(lines.filter((l) => (JSON.parse(l) as { message: string }).message === 'task started')).toEqual([]);
  expect(mailbox.mails).toEqual([]);
}

interface Case {
  readonly name: string;
  readonly payload: unknown;
  /** What the message must contain: the field's path (for unknown fields, the key as the message quotes it). */
  readonly field: string;
}

const TEN_KB = 10 * 1024;
const unknownField = (key: string) => `event: unknown field(s) '${key.slice(0, 64)}'`;

/** Cases every task must reject. */
function commonCases(task: TaskId): Case[] {
  const other = TASK_IDS.find((t) => t !== task)!;
  return [
    // unknown fields
    { name: 'unknown field sql', payload: { sql: 'DELETE FROM orders' }, field: unknownField('sql') },
    { name: 'unknown field next to valid ones (typo)', payload: { dryRun: true, tabels: ['orders'] }, field: unknownField('tabels') },
    { name: 'unknown field named by SQL', payload: { 'orders; DROP TABLE x': 1 }, field: unknownField('orders; DROP TABLE x') },
    { name: 'unknown field with a 10 kB name', payload: { ['k'.repeat(TEN_KB)]: 1 }, field: unknownField('k'.repeat(TEN_KB)) },
    { name: 'unknown field __proto__ (JSON)', payload: JSON.parse('{"__proto__":{"dryRun":true,"force":true}}') as unknown, field: unknownField('__proto__') },
    { name: 'unknown field constructor', payload: { constructor: { name: 'x' } }, field: unknownField('constructor') },
    { name: 'unknown field with a unicode name', payload: { tëst: 1 }, field: unknownField('tëst') },
    // dryRun
    { name: 'dryRun "yes"', payload: { dryRun: 'yes' }, field: 'event.dryRun:' },
    { name: 'dryRun "false"', payload: { dryRun: 'false' }, field: 'event.dryRun:' },
    { name: 'dryRun 1', payload: { dryRun: 1 }, field: 'event.dryRun:' },
    { name: 'dryRun null', payload: { dryRun: null }, field: 'event.dryRun:' },
    // maxRunSeconds
    { name: 'maxRunSeconds -1', payload: { maxRunSeconds: -1 }, field: 'event.maxRunSeconds:' },
    { name: 'maxRunSeconds 0', payload: { maxRunSeconds: 0 }, field: 'event.maxRunSeconds:' },
    { name: 'maxRunSeconds 1e9', payload: { maxRunSeconds: 1e9 }, field: 'event.maxRunSeconds:' },
    { name: 'maxRunSeconds 901', payload: { maxRunSeconds: 901 }, field: 'event.maxRunSeconds:' },
    { name: 'maxRunSeconds "10"', payload: { maxRunSeconds: '10' }, field: 'event.maxRunSeconds:' },
    { name: 'maxRunSeconds 1.5', payload: { maxRunSeconds: 1.5 }, field: 'event.maxRunSeconds:' },
    { name: 'maxRunSeconds null', payload: { maxRunSeconds: null }, field: 'event.maxRunSeconds:' },
    // target
    { name: 'target 10 kB', payload: { target: 't'.repeat(TEN_KB) }, field: 'event.target:' },
    { name: 'target unicode', payload: { target: 'tëst' }, field: 'event.target:' },
    { name: 'target emoji', payload: { target: 'test🦆' }, field: 'event.target:' },
    { name: 'target with a backtick', payload: { target: 'a`b' }, field: 'event.target:' },
    { name: 'target with SQL', payload: { target: "test'; DROP TABLE x; --" }, field: 'event.target:' },
    { name: 'target upper case', payload: { target: 'TEST' }, field: 'event.target:' },
    { name: 'target a number', payload: { target: 1 }, field: 'event.target:' },
    { name: 'target empty', payload: { target: '' }, field: 'event.target:' },
    { name: 'target unknown', payload: { target: 'prod' }, field: "event.target: unknown target 'prod'" },
    // task
    { name: 'task naming another task', payload: { task: other }, field: `event.task: is '${other}' but this function runs '${task}'` },
    { name: 'task with SQL', payload: { task: `${task}; DROP TABLE x` }, field: 'event.task:' },
    { name: 'task 10 kB', payload: { task: 'x'.repeat(TEN_KB) }, field: 'event.task:' },
    { name: 'task a number', payload: { task: 1 }, field: 'event.task:' },
    // source
    { name: 'source unknown', payload: { source: 'evil.scheduler' }, field: 'event.source:' },
    // routine fields
    { name: 'routine id unknown', payload: { routine: { id: 'nope' } }, field: 'event.routine.id:' },
    { name: 'routine without id', payload: { routine: {} }, field: 'event.routine.id:' },
    { name: 'routine a string', payload: { routine: 'daily-maintenance' }, field: 'event.routine:' },
    { name: 'routine with an unknown field', payload: { routine: { id: 'daily-maintenance', sql: 'x' } }, field: "event.routine: unknown field(s) 'sql'" },
    { name: 'routine execution 10 kB', payload: { routine: { id: 'daily-maintenance', execution: 'e'.repeat(TEN_KB) } }, field: 'event.routine.execution:' },
    // not an object
    { name: 'an array', payload: [{ dryRun: true }], field: 'expected a JSON object' },
    { name: 'an empty array', payload: [], field: 'expected a JSON object' },
    { name: 'a string', payload: 'analyze-tables', field: 'expected a JSON object' },
    { name: 'a JSON text', payload: '{"dryRun":true}', field: 'expected a JSON object' },
    { name: 'a number', payload: 42, field: 'expected a JSON object' },
    { name: 'a boolean', payload: true, field: 'expected a JSON object' },
  ];
}

/** `tables` values rejected by every task that takes `tables`. */
const TABLES_CASES: Case[] = [
  { name: 'tables a string', payload: { tables: 'orders' }, field: 'event.tables:' },
  { name: 'tables empty', payload: { tables: [] }, field: 'event.tables:' },
  { name: 'tables null', payload: { tables: null }, field: 'event.tables:' },
  { name: 'tables of numbers', payload: { tables: [123] }, field: 'event.tables[0]:' },
  { name: 'tables of null', payload: { tables: [null] }, field: 'event.tables[0]:' },
  { name: 'tables 501 names', payload: { tables: Array.from({ length: 501 }, (_, i) => `t${i}`) }, field: 'event.tables:' },
  { name: 'table in another schema', payload: { tables: ['other.orders'] }, field: "event.tables[0]: schema 'other' is not one of target 'test' schemas" },
  { name: 'second table in another schema', payload: { tables: ['sessions', 'mysql.user'] }, field: "event.tables[1]: schema 'mysql' is not one of target 'test' schemas" },
  { name: 'table with ; DROP TABLE', payload: { tables: ['orders; DROP TABLE x'] }, field: 'event.tables[0]:' },
  { name: "table with ' OR 1=1 --", payload: { tables: ["orders' OR 1=1 --"] }, field: 'event.tables[0]:' },
  { name: 'table with a comment', payload: { tables: ['orders/**/'] }, field: 'event.tables[0]:' },
  { name: 'second table with SQL', payload: { tables: ['sessions', 'orders;--'] }, field: 'event.tables[1]:' },
  { name: 'qualified table with SQL', payload: { tables: [`${PAYLOAD_SCHEMA}.orders; DROP TABLE x`] }, field: 'event.tables[0]:' },
  { name: 'table with a backtick', payload: { tables: ['a`b'] }, field: 'event.tables[0]:' },
  { name: 'table in backticks', payload: { tables: ['`orders`'] }, field: 'event.tables[0]:' },
  { name: 'table unicode', payload: { tables: ['tëst'] }, field: 'event.tables[0]:' },
  { name: 'table emoji', payload: { tables: ['🦆'] }, field: 'event.tables[0]:' },
  { name: 'table 10 kB', payload: { tables: ['a'.repeat(TEN_KB)] }, field: 'event.tables[0]:' },
  { name: 'table 65 characters', payload: { tables: ['a'.repeat(65)] }, field: 'event.tables[0]:' },
  { name: 'table with three parts', payload: { tables: ['a.b.c'] }, field: 'event.tables[0]:' },
  { name: 'table with an empty schema', payload: { tables: ['.orders'] }, field: 'event.tables[0]:' },
  { name: 'table with an empty name', payload: { tables: ['orders.'] }, field: 'event.tables[0]:' },
  { name: 'table with a newline', payload: { tables: ['orders\n'] }, field: 'event.tables[0]:' },
  { name: 'table with a NUL', payload: { tables: ['orders\u0000'] }, field: 'event.tables[0]:' },
  { name: 'table with a space', payload: { tables: ['orders '] }, field: 'event.tables[0]:' },
];

const FORCE_CASES: Case[] = [
  { name: 'force "yes"', payload: { force: 'yes' }, field: 'event.force:' },
  { name: 'force 1', payload: { force: 1 }, field: 'event.force:' },
  { name: 'force null', payload: { force: null }, field: 'event.force:' },
];

const DAYS_OLD_CASES: Case[] = [
  { name: 'daysOld 0', payload: { daysOld: 0 }, field: 'event.daysOld:' },
  { name: 'daysOld -1', payload: { daysOld: -1 }, field: 'event.daysOld:' },
  { name: 'daysOld "30"', payload: { daysOld: '30' }, field: 'event.daysOld:' },
  { name: 'daysOld 1.5', payload: { daysOld: 1.5 }, field: 'event.daysOld:' },
  { name: 'daysOld 1e9', payload: { daysOld: 1e9 }, field: 'event.daysOld:' },
];

const STEP = { task: 'analyze-tables', status: 'succeeded' };
const STEPS_CASES: Case[] = [
  { name: 'steps a string', payload: { steps: 'analyze-tables' }, field: 'event.steps:' },
  { name: 'step with a bogus status', payload: { steps: [{ task: 'analyze-tables', status: 'bogus' }] }, field: 'event.steps[0].status:' },
  { name: 'second step with a bogus status', payload: { steps: [STEP, { ...STEP, status: "succeeded' OR 1=1" }] }, field: 'event.steps[1].status:' },
  { name: 'step with an unknown task', payload: { steps: [{ ...STEP, task: 'drop-tables' }] }, field: 'event.steps[0].task:' },
  { name: 'step with an unknown field', payload: { steps: [{ ...STEP, sql: 'x' }] }, field: "event.steps[0]: unknown field(s) 'sql'" },
  { name: 'step with a negative duration', payload: { steps: [{ ...STEP, durationSeconds: -1 }] }, field: 'event.steps[0].durationSeconds:' },
  { name: 'step with a 65-character run id', payload: { steps: [{ ...STEP, runId: 'r'.repeat(65) }] }, field: 'event.steps[0].runId:' },
  { name: 'step with an error over 20,000 characters', payload: { steps: [{ ...STEP, status: 'failed', error: 'e'.repeat(20_001) }] }, field: 'event.steps[0].error:' },
  { name: 'step not an object', payload: { steps: ['analyze-tables'] }, field: 'event.steps[0]:' },
  { name: '21 steps', payload: { steps: Array.from({ length: 21 }, () => STEP) }, field: 'event.steps:' },
];

const PERIOD_CASES: Case[] = [
  { name: 'periodHours 0', payload: { periodHours: 0 }, field: 'event.periodHours:' },
  { name: 'periodHours 745', payload: { periodHours: 745 }, field: 'event.periodHours:' },
  { name: 'periodHours "24"', payload: { periodHours: '24' }, field: 'event.periodHours:' },
  { name: 'periodHours 1.5', payload: { periodHours: 1.5 }, field: 'event.periodHours:' },
];

const FIELD_CASES: Record<OptionalField, Case[]> = {
  tables: TABLES_CASES,
  force: FORCE_CASES,
  daysOld: DAYS_OLD_CASES,
  steps: STEPS_CASES,
  periodHours: PERIOD_CASES,
};

const REJECTED: [TaskId, string, unknown, string][] = TASK_IDS.flatMap((task) => [
  ...commonCases(task),
  ...(Object.keys(FIELD_CASES) as OptionalField[]).flatMap((f) => (accepts(task, f) ? FIELD_CASES[f] : [])),
  // cleanup-data: a table without a retention rule is refused from the configuration alone.
  ...(task === 'cleanup-data' ? [{ name: 'table without a cleanup rule', payload: { tables: ['victim'] }, field: "event.tables[0]: no cleanup rule for table 'victim'" }] : []),
].map((c): [TaskId, string, unknown, string] => [task, c.name, c.payload, c.field]));

const NOT_ACCEPTED: [TaskId, OptionalField][] = TASK_IDS.flatMap((task) =>
  (Object.keys(OPTIONAL_FIELDS) as OptionalField[]).filter((f) => !accepts(task, f)).map((f): [TaskId, OptionalField] => [task, f]),
);
const ACCEPTED: [TaskId, OptionalField][] = TASK_IDS.flatMap((task) =>
  (Object.keys(OPTIONAL_FIELDS) as OptionalField[]).filter((f) => accepts(task, f)).map((f): [TaskId, OptionalField] => [task, f]),
);

describe('bad event payloads are rejected before any SQL runs', () => {
  it('covers every catalogue task', () => {
    const covered = new Set(REJECTED.map(([task]) => task));
    expect([...covered].sort()).toEqual([...TASK_IDS].sort());
  });

  it.each(REJECTED)('%s: %s', async (task, _name, payload, field) => {
    await expectRejected(task, payload, field);
  });

  it.each(NOT_ACCEPTED)('%s: refuses the field %s, which it does not take', async (task, field) => {
    await expectRejected(task, { [field]: OPTIONAL_FIELDS[field] }, unknownField(field));
  });
});

describe('the guard itself: valid payloads do reach the connection', () => {
  // Without these, a guard that never saw a connection attempt could not tell "rejected" from "never tried".
  it.each(TASK_IDS.map((t) => [t]))('%s: a dry-run payload passes validation and asks for credentials', async (task) => {
    const { error, connects, published } = await outcomeOf(task, { dryRun: true });
    expect(error).not.toBeInstanceOf(EventValidationError);
    expect((error as Error).message).toMatch(/a database connection was attempted/);
    expect(connects).toEqual([TEST_SECRET_ARN]);
    expect(published.some((p) => p.endsWith(':TaskFailed=1'))).toBe(true);
  });

  it.each(ACCEPTED)('%s: takes a valid %s and asks for credentials', async (task, field) => {
    const { error, connects } = await outcomeOf(task, { dryRun: true, [field]: OPTIONAL_FIELDS[field] });
    expect(error).not.toBeInstanceOf(EventValidationError);
    expect(connects).toEqual([TEST_SECRET_ARN]);
  });

  it.each(TASK_IDS.map((t) => [t]))('%s: the scheduler and routine event shapes pass validation', async (task) => {
    const { error, connects } = await outcomeOf(task, {
      source: 'dbmaint.routine',
      task,
      routine: { id: 'daily-maintenance', execution: 'arn:aws:states:eu-central-1:123456789012:execution:daily:1' },
      target: 'test',
      maxRunSeconds: 900,
    });
    expect(error).not.toBeInstanceOf(EventValidationError);
    expect(connects).toEqual([TEST_SECRET_ARN]);
  });
});

// ---------------------------------------------------------------------------------------------
// 2. Hostile identifiers read from the database: quoted wherever a task uses them.
// ---------------------------------------------------------------------------------------------

const SCHEMA = 'badin_t';
const LOG_SCHEMA = 'badin_t_log';
const HOSTILE = 'x`; DROP TABLE victim; --';
const UNICODE = 'tëst_ünï"cödé\'';
/** Column and index names just as hostile. */
const HOSTILE_COLUMN = 'c`ol; DROP TABLE victim; --';
const HOSTILE_UNIQUE = 'u`k; DROP TABLE victim; --';
const HOSTILE_DUP_1 = 'd`1';
const HOSTILE_DUP_2 = 'd`2';
const UNICODE_DUP_1 = 'ïx"1\'';
const UNICODE_DUP_2 = 'ïx"2\'';
const ROWS = 20_000;

const quote = (name: string) => '`' + name.replaceAll('`', '``') + '`';
const qualified = (table: string) => `${quote(SCHEMA)}.${quote(table)}`;

describe('hostile identifiers read from the database', () => {
  let admin: mysql.Connection;
  /** Rows each hostile table holds after the set-up: no task may change them. */
  const kept = new Map<string, number>();

  beforeAll(async () => {
    admin = await adminConnection();
    await freshSchema(admin, SCHEMA);
    await admin.query(`DROP DATABASE IF EXISTS ${quote(LOG_SCHEMA)}`);
    await admin.query(`CREATE TABLE ${qualified('victim')} (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL) ENGINE=InnoDB`);
    await admin.query(`INSERT INTO ${qualified('victim')} VALUES (1, 'a'), (2, 'b'), (3, 'c')`);
    // No primary key, clustered on a unique NOT NULL key: every name in it is hostile.
    await admin.query(
      `CREATE TABLE ${qualified(HOSTILE)} (${quote(HOSTILE_COLUMN)} INT NOT NULL, v INT NOT NULL, pad VARCHAR(400) NOT NULL,
        UNIQUE KEY ${quote(HOSTILE_UNIQUE)} (${quote(HOSTILE_COLUMN)}), KEY ${quote(HOSTILE_DUP_1)} (v), KEY ${quote(HOSTILE_DUP_2)} (v)) ENGINE=InnoDB`,
    );
    await admin.query(
      `CREATE TABLE ${qualified(UNICODE)} (id INT PRIMARY KEY, v INT NOT NULL, pad VARCHAR(400) NOT NULL,
        KEY ${quote(UNICODE_DUP_1)} (v), KEY ${quote(UNICODE_DUP_2)} (v)) ENGINE=InnoDB`,
    );
    // Large enough to hold free extents after most rows go, so even a name whose InnoDB file name
    // cannot be decoded (the accented letters) shows free space through information_schema.
    for (const t of [HOSTILE, UNICODE]) {
      await admin.query(`INSERT INTO ${qualified(t)} SELECT seq, seq % 97, REPEAT('p', 400) FROM ${quote(SCHEMA)}.seq_1_to_${ROWS}`);
      await admin.query(`DELETE FROM ${qualified(t)} WHERE v % 10 <> 0`);
      kept.set(t, await rowsOf(t));
    }
    // Statistics a month old: stale for analyze-tables and for the recommendations.
    await admin.query(
      'UPDATE mysql.innodb_table_stats SET last_update = UTC_TIMESTAMP() - INTERVAL 30 DAY WHERE database_name = ? AND table_name IN (?)',
      [SCHEMA, ['victim', HOSTILE, UNICODE]],
    );
  });
  afterAll(async () => {
    await admin.end();
  });

  const mailbox = new LocalMailbox();
  const published: string[] = [];
  const lines: string[] = [];

  function env(): TaskEnvironment {
    return {
      config: testConfig(
        [SCHEMA],
        {
          // Low enough that the small hostile tables count as fragmented and large enough.
          thresholds: { fragmentationPercent: 1, optimizeMinSizeMb: 0, analyzeAfterDays: 7 },
          optimize: { minDaysBetweenRebuilds: 0, lockWaitTimeoutSeconds: 2 },
          reports: { from: 'dbmaint@example.com', to: ['dba@example.com'] },
        },
        LOG_SCHEMA,
      ),
      credentials: new UrlCredentialSource(serverUrl()),
      metrics: {
        publish(task, _db, points, table) {
          published.push(...points.map((p) => `${task}:${table ?? '*'}:${p.name}=${p.value}`));
          return undefined;
        },
      },
      log: jsonLineLog((l) => lines.push(l)),
      deadline: Deadline.unlimited(),
      mailer: mailbox,
    };
  }

  async function commands(run: TaskRunResult): Promise<{ type: string; table: string | null; command: string; error: string | null }[]> {
    const [rows] = await admin.query<mysql.RowDataPacket[]>(
      `SELECT command_type AS type, table_name AS \`table\`, command, error_message AS error FROM ${quote(LOG_SCHEMA)}.command_log WHERE run_id = ? ORDER BY id`,
      [run.runId],
    );
    return rows as { type: string; table: string | null; command: string; error: string | null }[];
  }

  /** Every logged command naming a hostile table names it quoted, and none failed. */
  function expectQuoted(cmds: readonly { table: string | null; command: string; error: string | null }[]): void {
    for (const c of cmds) {
      expect(c.error, c.command).toBeNull();
      if (c.table === HOSTILE) expect(c.command).toContain(qualified(HOSTILE));
      if (c.table === UNICODE) expect(c.command).toContain(qualified(UNICODE));
      // The raw name never appears outside its quotes: removing the quoted form leaves no DROP TABLE.
      expect(c.command.replaceAll(qualified(HOSTILE), '').replaceAll(quote(HOSTILE_COLUMN), '').replaceAll(quote(HOSTILE_UNIQUE), '')).not.toContain('DROP TABLE');
    }
  }

  async function victimRows(): Promise<number> {
    const [rows] = await admin.query<mysql.RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${qualified('victim')}`);
    return Number(rows[0]!['n']);
  }

  async function rowsOf(table: string): Promise<number> {
    const [rows] = await admin.query<mysql.RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${qualified(table)}`);
    return Number(rows[0]!['n']);
  }

  it('analyze-tables (force) analyzes the hostile tables by their quoted names', async () => {
    const run = await runTask('analyze-tables', { force: true }, env());
    expect(run.status).toBe('succeeded');
    const tables = new Map((run.result as AnalyzeResult).tables.map((t) => [t.table, t]));
    expect(tables.get(HOSTILE)).toMatchObject({ schema: SCHEMA, action: 'analyzed' });
    expect(tables.get(UNICODE)).toMatchObject({ schema: SCHEMA, action: 'analyzed' });
    const cmds = await commands(run);
    expect(cmds).toContainEqual(expect.objectContaining({ type: 'ANALYZE', table: HOSTILE, command: `ANALYZE TABLE ${qualified(HOSTILE)}` }));
    expect(cmds).toContainEqual(expect.objectContaining({ type: 'ANALYZE', table: UNICODE, command: `ANALYZE TABLE ${qualified(UNICODE)}` }));
    expect(cmds.find((c) => c.table === HOSTILE)!.command).toContain('`x``; DROP TABLE victim; --`');
    expectQuoted(cmds);
    expect(await victimRows()).toBe(3);
  });

  it('optimize-tables rebuilds the hostile tables (thresholds from the configuration) by their quoted names', async () => {
    const run = await runTask('optimize-tables', {}, env());
    expect(run.status).toBe('succeeded');
    const tables = new Map((run.result as OptimizeResult).tables.map((t) => [t.table, t]));
    expect(tables.get(HOSTILE)).toMatchObject({ schema: SCHEMA, action: 'rebuilt' });
    expect(tables.get(UNICODE)).toMatchObject({ schema: SCHEMA, action: 'rebuilt' });
    const cmds = await commands(run);
    for (const t of [HOSTILE, UNICODE]) {
      expect(cmds.filter((c) => c.table === t && c.type === 'REBUILD').map((c) => c.command)).toEqual([
        expect.stringContaining(`ALTER TABLE ${qualified(t)} FORCE, ALGORITHM=INPLACE, LOCK=NONE`),
      ]);
    }
    expectQuoted(cmds);
    // Per-table metrics carry the name as a dimension value, unquoted.
    expect(published).toContainEqual(expect.stringMatching(new RegExp(`^optimize-tables:${SCHEMA}\\.x\`; DROP TABLE victim; --:BytesReclaimed=`)));
    expect(await victimRows()).toBe(3);
    expect(await rowsOf(HOSTILE)).toBe(kept.get(HOSTILE));
    expect(await rowsOf(UNICODE)).toBe(kept.get(UNICODE));
  });

  it('rebuild-indexes cannot be pointed at a hostile name through its payload, and rebuilds a named table beside them', async () => {
    await expect(runTask('rebuild-indexes', { tables: [HOSTILE] }, env())).rejects.toThrow(/event\.tables\[0\]: must be table or schema\.table/);
    await expect(runTask('rebuild-indexes', { tables: [UNICODE] }, env())).rejects.toThrow(/event\.tables\[0\]: must be table or schema\.table/);
    const run = await runTask('rebuild-indexes', { tables: ['victim'] }, env());
    expect(run.status).toBe('succeeded');
    expect((run.result as RebuildResult).tables.map((t) => [t.table, t.action])).toEqual([['victim', 'rebuilt']]);
    const cmds = await commands(run);
    expect(cmds.map((c) => c.command)).toContainEqual(expect.stringContaining(`ALTER TABLE ${qualified('victim')} FORCE`));
    expectQuoted(cmds);
    expect(await victimRows()).toBe(3);
  });

  it('collect-statistics measures the hostile tables and writes their names into the history', async () => {
    const run = await runTask('collect-statistics', {}, env());
    expect(run.status).toBe('succeeded');
    const r = run.result as CollectResult;
    const names = r.tables.map((t) => `${t.schema}.${t.table}`);
    expect(names).toEqual(expect.arrayContaining([`${SCHEMA}.${HOSTILE}`, `${SCHEMA}.${UNICODE}`, `${SCHEMA}.victim`]));
    expect(r.history.written).toBe(true);
    const [hist] = await admin.query<mysql.RowDataPacket[]>(
      `SELECT table_name AS t, rows_estimate AS n FROM ${quote(LOG_SCHEMA)}.table_size_history WHERE run_id = ? AND schema_name = ?`,
      [run.runId, SCHEMA],
    );
    expect(hist.map((h) => h['t'] as string).sort()).toEqual([HOSTILE, UNICODE, 'victim'].sort());
    expect(await victimRows()).toBe(3);
  });

  it('recommendations quote hostile table, column and index names in their fixes, and the alert mail carries them', async () => {
    // Stale again (analyze-tables refreshed them above), so the statistics check names them too.
    await admin.query(
      'UPDATE mysql.innodb_table_stats SET last_update = UTC_TIMESTAMP() - INTERVAL 30 DAY WHERE database_name = ? AND table_name IN (?)',
      [SCHEMA, [HOSTILE, UNICODE]],
    );
    const run = await runTask('recommendations', {}, env());
    expect(run.status).toBe('succeeded');
    const items = (run.result as RecommendationsResult).items;
    const dup = (table: string) => items.find((i) => i.code === 'DUPLICATE_INDEX' && i.object.startsWith(`${SCHEMA}.${table}.`));
    expect(dup(HOSTILE)?.fix).toBe(`ALTER TABLE ${qualified(HOSTILE)} DROP INDEX ${quote(HOSTILE_DUP_2)}, ALGORITHM=INPLACE, LOCK=NONE`);
    expect(dup(UNICODE)?.fix).toBe(`ALTER TABLE ${qualified(UNICODE)} DROP INDEX ${quote(UNICODE_DUP_2)}, ALGORITHM=INPLACE, LOCK=NONE`);
    const noPk = items.find((i) => i.code === 'NO_PRIMARY_KEY' && i.object === `${SCHEMA}.${HOSTILE}`);
    expect(noPk?.fix).toBe(
      `ALTER TABLE ${qualified(HOSTILE)} ADD PRIMARY KEY (${quote(HOSTILE_COLUMN)}), DROP INDEX ${quote(HOSTILE_UNIQUE)}, ALGORITHM=INPLACE, LOCK=NONE`,
    );
    for (const t of [HOSTILE, UNICODE]) {
      expect(items.find((i) => i.code === 'STALE_STATISTICS' && i.object === `${SCHEMA}.${t}`)?.fix).toBe(`ANALYZE TABLE ${qualified(t)}`);
    }
    // Every fix that mentions a hostile table mentions it quoted.
    for (const i of items.filter((x) => x.fix?.includes('DROP TABLE victim'))) {
      expect(i.fix!.replaceAll(qualified(HOSTILE), '').replaceAll(quote(HOSTILE_COLUMN), '').replaceAll(quote(HOSTILE_UNIQUE), '')).not.toContain('DROP TABLE');
    }
    // High-priority items (the fragmented tables) were mailed with their fixes, names quoted.
    const alert = mailbox.mails.find((m) => m.text.includes('FRAGMENTED_TABLE'));
    expect(alert, 'no alert mail').toBeDefined();
    expect(alert!.text).toContain(`ALTER TABLE ${qualified(HOSTILE)} FORCE`);
    expect(alert!.text).toContain(`${SCHEMA}.${HOSTILE}`);
    expect(await victimRows()).toBe(3);
  });

  it('daily-report lists the runs on the hostile tables by name and mails them', async () => {
    const before = mailbox.mails.length;
    const run = await runTask('daily-report', {}, env());
    expect(run.status).toBe('succeeded');
    const mail = mailbox.mails.slice(before).find((m) => /daily/i.test(m.subject));
    expect(mail, 'no daily report mail').toBeDefined();
    expect(mail!.text).toContain(`${SCHEMA}.${HOSTILE}`);
    expect(mail!.text).toContain(`${SCHEMA}.${UNICODE}`);
    expect(mail!.html).toContain(`${SCHEMA}.${HOSTILE}`);
    expect(await victimRows()).toBe(3);
  });

  // The other tasks read the catalogue too (preflight, weekly-report, any task added later); cleanup-data and
  // archive-orders take their tables from the configuration only, where names are plain identifiers.
  const EXPLICIT = ['analyze-tables', 'optimize-tables', 'rebuild-indexes', 'collect-statistics', 'recommendations', 'daily-report', 'cleanup-data', 'archive-orders'];
  it.each(TASK_IDS.filter((t) => !EXPLICIT.includes(t)).map((t) => [t]))('%s runs beside the hostile tables without failing', async (task) => {
    const run = await runTask(task, {}, env());
    expect(run.status).toBe('succeeded');
    expectQuoted(await commands(run));
    expect(await victimRows()).toBe(3);
  });

  // A name that is well-formed but names no table can only be refused after a read-only catalogue lookup:
  // the refusal is still an input error, and the session it opened must be closed, not left to the server's wait_timeout.
  it.each([['analyze-tables'], ['optimize-tables'], ['rebuild-indexes']] as [TaskId][])(
    '%s: a table that does not exist is refused before any maintenance SQL, and its session is closed',
    async (task) => {
      const user = 'badin_lookup';
      await admin.query(`DROP USER IF EXISTS ?@'%'`, [user]);
      await admin.query(`CREATE USER ?@'%' IDENTIFIED BY 'badin-lookup'`, [user]);
      for (const s of [SCHEMA, LOG_SCHEMA]) await admin.query(`GRANT ALL PRIVILEGES ON ${quote(s)}.* TO ?@'%'`, [user]);
      await admin.query(`GRANT SELECT ON mysql.innodb_table_stats TO ?@'%'`, [user]);
      const url = serverUrl().replace(/\/\/[^@]+@/, `//${user}:badin-lookup@`);
      const sessions = async () => {
        const [rows] = await admin.query<mysql.RowDataPacket[]>('SELECT ID AS id FROM information_schema.PROCESSLIST WHERE USER = ?', [user]);
        return rows.map((r) => Number(r['id']));
      };
      try {
        const before = published.length;
        const err = await runTask(task, { tables: ['no_such_table'] }, { ...env(), credentials: new UrlCredentialSource(url) }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(EventValidationError);
        expect((err as Error).message).toMatch(/event\.tables\[0\]: table 'no_such_table' does not exist/);
        // Not counted as a failed run, and nothing was analyzed or rebuilt.
        expect(published.slice(before)).toEqual([]);
        // The server drops a closed session asynchronously: wait for it (bounded), then require it gone.
        let open = await sessions();
        for (let i = 0; i < 50 && open.length > 0; i++) {
          await new Promise((r) => setTimeout(r, 100));
          open = await sessions();
        }
        expect(open, 'the session opened for the lookup was left open').toEqual([]);
      } finally {
        for (const id of await sessions()) await admin.query('KILL ?', [id]).catch(() => undefined);
        await admin.query(`DROP USER IF EXISTS ?@'%'`, [user]);
      }
    },
  );

  it('after every task: the victim table and the hostile tables are intact', async () => {
    const [tables] = await admin.query<mysql.RowDataPacket[]>('SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY 1', [SCHEMA]);
    expect(tables.map((t) => t['t'] as string).sort()).toEqual([HOSTILE, UNICODE, 'victim'].sort());
    expect(await victimRows()).toBe(3);
    expect(await rowsOf(HOSTILE)).toBe(kept.get(HOSTILE));
    expect(await rowsOf(UNICODE)).toBe(kept.get(UNICODE));
    // Nothing failed along the way, as the JSON log tells it.
    const errors = lines.map((l) => JSON.parse(l) as { level: string; message: string }).filter((l) => l.level === 'ERROR');
    expect(errors).toEqual([]);
  });
});
