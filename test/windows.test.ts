// Maintenance windows: the sharing rule, its configuration, and the synthesized daily routine invoking cleanup-data again until the backlog is gone or the window closes.
import { Template } from 'aws-cdk-lib/assertions';
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { getRoutine } from '../lib/catalogue';
import { parseConfig } from '../lib/config/load';
import type { DbMaintConfig } from '../lib/config/schema';
import { UrlCredentialSource } from '../lib/db/credentials';
import { localSesClient, startSesLocal, type SesLocal } from '../dev/ses-emulator';
import type { MetricsPublisher } from '../lib/metrics/emf';
import type { MetricPoint } from '../lib/metrics/names';
import { SesMailSender } from '../lib/reporting/mail/sender';
import { windowLines } from '../lib/reporting/gather';
import { MAX_INVOCATIONS, minimumWindowSeconds, routineTimeoutHours, stepsSeconds, windowHoursOf, windowProgress } from '../lib/routines/window';
import { silentLog } from '../lib/runtime/log';
import { adminConnection, freshSchema, serverUrl, testConfig, testTarget, TEST_SECRET_ARN } from './support/db';
import { definitionFromTemplate, interpretRoutine, type InterpretedExecution } from './support/routine-interpreter';
import { synthStack } from './support/synth';

const daily = getRoutine('daily-maintenance');
const CLEANUP = daily.steps.findIndex((s) => s.task === 'cleanup-data');
const HOUR = 3_600_000;

describe('the sharing rule (lib/routines/window.ts)', () => {
  const cfg = parseConfig({ targets: [testTarget(['app'])] });
  const target = cfg.targets[0]!;
  const opens = new Date('2026-12-03T04:00:00Z');
  const at = (ms: number) => new Date(opens.getTime() + ms);
  const left = { text: '2,500 rows in 1 rule(s)', again: true };

  it('invokes a stopped step again while it and every later step still fit the window', () => {
    const p = windowProgress(cfg, target, { id: daily.id, startedAt: opens.toISOString(), invocations: 1, secondsSoFar: 870 }, 'cleanup-data', at(1800_000), 870, true, left);
    expect(p).toMatchObject({ invocation: 2, secondsSoFar: 1740, again: true, left: left.text, endsAt: '2026-12-03T07:00:00.000Z' });
  });

  it('stops when one more invocation and the later steps would end after the window, and says when it closes', () => {
    const needed = stepsSeconds(daily, CLEANUP) * 1000;
    const fits = windowProgress(cfg, target, { id: daily.id, startedAt: opens.toISOString() }, 'cleanup-data', at(3 * HOUR - needed), 870, true, left);
    expect(fits.again).toBe(true);
    const late = windowProgress(cfg, target, { id: daily.id, startedAt: opens.toISOString() }, 'cleanup-data', at(3 * HOUR - needed + 1000), 870, true, left);
    expect(late.again).toBe(false);
    expect(late.reason).toMatch(/window closes at 2026-12-03T07:00:00.000Z/);
    expect(late.left).toBe(left.text);
  });

  it('does not loop on a step that finished, made no progress, or reached the invocation cap', () => {
    const input = { id: daily.id, startedAt: opens.toISOString() };
    expect(windowProgress(cfg, target, input, 'cleanup-data', at(60_000), 10, false, undefined).again).toBe(false);
    const stuck = windowProgress(cfg, target, input, 'cleanup-data', at(60_000), 870, true, { text: 'x', again: false, why: 'moved no row' });
    expect(stuck).toMatchObject({ again: false, reason: 'moved no row' });
    const capped = windowProgress(cfg, target, { ...input, invocations: MAX_INVOCATIONS - 1 }, 'cleanup-data', at(60_000), 1, true, left);
    expect(capped.again).toBe(false);
    expect(capped.reason).toMatch(/50 invocations/);
  });

  it('takes the target’s window over the configuration’s over the catalogue’s, and sizes the execution timeout by the longest', () => {
    const c = parseConfig({
      windows: { 'daily-maintenance': { hours: 5 } },
      targets: [testTarget(['a']), { ...testTarget(['b']), name: 'b', tasks: { 'daily-maintenance': { window: { hours: 8 } } } }],
    });
    expect(windowHoursOf(c, c.targets[0], daily)).toBe(5);
    expect(windowHoursOf(c, c.targets[1], daily)).toBe(8);
    expect(windowHoursOf(cfg, target, daily)).toBe(3);
    expect(routineTimeoutHours(c, daily)).toBe(Math.ceil(8 + minimumWindowSeconds(daily) / 3600));
  });

  it('refuses a window on a task, or one shorter than one invocation of each step, naming the field', () => {
    expect(() => parseConfig({ targets: [{ ...testTarget(['a']), tasks: { 'cleanup-data': { window: { hours: 2 } } } }] })).toThrow(
      /targets\[0\]\.tasks\.cleanup-data\.window: a window belongs to a routine/,
    );
    expect(() => parseConfig({ windows: { 'daily-maintenance': { hours: 1 } }, targets: [testTarget(['a'])] })).toThrow(/windows\.daily-maintenance\.hours: is 1 h, shorter than one invocation of each step/);
    expect(() => parseConfig({ windows: { 'daily-maintenance': { hours: 30 } }, targets: [testTarget(['a'])] })).toThrow(/windows\.daily-maintenance\.hours/);
  });

  it('words a step that took several invocations, or left work, for the reports', () => {
    expect(
      windowLines([
        { task: 'cleanup-data', status: 'succeeded', invocations: 4, secondsSoFar: 1234.5, left: null },
        { task: 'optimize-tables', status: 'stopped-at-deadline', invocations: 1, secondsSoFar: 870, left: '1 table(s) deferred: app.big (~9000 s)' },
        { task: 'analyze-tables', status: 'succeeded', invocations: 1, secondsSoFar: 3, left: null },
      ]),
    ).toEqual([
      'cleanup-data: 4 invocations, 1,235 s, finished inside the window',
      'optimize-tables: 1 invocation, 870 s, left when the window closed: 1 table(s) deferred: app.big (~9000 s)',
    ]);
  });
});

describe('the synthesized daily routine in the ASL interpreter', () => {
  const SCHEMA = 'win_t';
  const LOG = 'win_t_log';
  const REPORTS = { from: 'dbmaint@example.com', to: ['dba@example.com'] };
  const RULES = [{ table: 'events', dateColumn: 'created_at', retentionDays: 30, action: 'delete' as const }];
  let admin: mysql.Connection;
  let ses: SesLocal;
  const template = Template.fromStack(synthStack({ targets: [{ name: 'test', secretArn: TEST_SECRET_ARN, schemas: [SCHEMA], cleanupRules: RULES }], reports: REPORTS }));
  const definition = definitionFromTemplate(template, 'dbmaint-daily-maintenance');

  function config(): DbMaintConfig {
    // 1,000 rows per invocation: a backlog of 3,500 needs four.
    return testConfig([SCHEMA], { targets: [testTarget([SCHEMA], { cleanupRules: RULES })], reports: REPORTS, purge: { maxRowsPerRun: 1000, initialChunkRows: 300 } }, LOG);
  }

  /** Every RowsDeleted point published for the events table, one per cleanup invocation. */
  const deleted: number[] = [];
  const metrics: MetricsPublisher = {
    publish(task: string, _db: string, points: readonly MetricPoint[], table?: string) {
      if (task === 'cleanup-data' && table) for (const p of points) if (p.name === 'RowsDeleted') deleted.push(p.value);
      return undefined;
    },
  };

  async function run(windowStartedAt: Date, name: string): Promise<InterpretedExecution> {
    const cfg = config();
    return interpretRoutine(
      definition,
      { target: 'test', windowStartedAt: windowStartedAt.toISOString() },
      { config: cfg, credentials: new UrlCredentialSource(serverUrl()), metrics, log: silentLog, mailer: new SesMailSender(localSesClient(ses.endpoint, { maxAttempts: 1 })) },
      { stateMachineName: 'dbmaint-daily-maintenance', executionName: name },
    );
  }

  type Outcome = { task: string; status: string; invocations?: number; secondsSoFar?: number; left?: string | null };
  const cleanupOutcome = (exec: InterpretedExecution) => (exec.output as { outcomes: Record<string, Outcome> }).outcomes[`s${CLEANUP}`]!;

  async function counts(): Promise<{ old: number; young: number; ids: number }> {
    const [rows] = await admin.query(
      `SELECT SUM(created_at < UTC_TIMESTAMP() - INTERVAL 30 DAY) AS old, SUM(created_at >= UTC_TIMESTAMP() - INTERVAL 30 DAY) AS young, COUNT(DISTINCT id) AS ids FROM \`${SCHEMA}\`.events`,
    );
    const r = (rows as { old: string | null; young: string | null; ids: number }[])[0]!;
    return { old: Number(r.old ?? 0), young: Number(r.young ?? 0), ids: Number(r.ids) };
  }

  beforeAll(async () => {
    admin = await adminConnection();
    ses = await startSesLocal();
  });
  afterAll(async () => {
    await ses?.stop();
    await admin?.end();
  });
  beforeEach(async () => {
    deleted.length = 0;
    await freshSchema(admin, SCHEMA);
    await admin.query(`DROP DATABASE IF EXISTS \`${LOG}\``);
    await admin.query(`CREATE TABLE \`${SCHEMA}\`.events (id INT AUTO_INCREMENT PRIMARY KEY, created_at DATETIME NOT NULL, note VARCHAR(40) NOT NULL, KEY ix_created (created_at)) ENGINE=InnoDB`);
    await admin.query(`USE \`${SCHEMA}\``);
    // 3,500 rows 40-75 days old (expired), 500 rows of the last 10 days.
    await admin.query(`INSERT INTO events (created_at, note) SELECT UTC_TIMESTAMP() - INTERVAL 40 DAY - INTERVAL seq MINUTE, CONCAT('old ', seq) FROM seq_1_to_3500`);
    await admin.query(`INSERT INTO events (created_at, note) SELECT UTC_TIMESTAMP() - INTERVAL seq MINUTE, CONCAT('young ', seq) FROM seq_1_to_500`);
    await ses.clear();
  });

  it('clears a backlog of four invocations’ work in one execution: cleanup-data is invoked again until it is done', async () => {
    const exec = await run(new Date(), `win-backlog-${Date.now()}`);
    expect(exec.violations).toEqual([]);
    expect(exec.status).toBe('succeeded');
    expect(cleanupOutcome(exec)).toMatchObject({ task: 'cleanup-data', status: 'succeeded', invocations: 4, left: null });
    expect(deleted).toEqual([1000, 1000, 1000, 500]);
    expect(await counts()).toEqual({ old: 0, young: 500, ids: 500 });
    // The report tells how the window went.
    const mail = (await ses.emails()).find((m) => m.subject.startsWith('[dbmaint] test: daily maintenance'));
    expect(mail?.body.text).toMatch(/Maintenance window[\s\S]*cleanup-data: 4 invocations, [\d,]+ s, finished inside the window/);
  });

  it('stops cleanly when the window closes first, with what is left in the result and the report', async () => {
    // The window opened long enough ago that one more invocation of cleanup-data and the later steps no longer fit.
    const opened = new Date(Date.now() - 3 * HOUR + (stepsSeconds(daily, CLEANUP) - 300) * 1000);
    const exec = await run(opened, `win-closing-${Date.now()}`);
    expect(exec.status).toBe('succeeded');
    const out = cleanupOutcome(exec);
    expect(out).toMatchObject({ status: 'stopped-at-deadline', invocations: 1 });
    expect(out.left).toMatch(/^2,500 rows in 1 rule/);
    expect(deleted).toEqual([1000]);
    expect(await counts()).toEqual({ old: 2500, young: 500, ids: 3000 });
    const mail = (await ses.emails()).find((m) => m.subject.startsWith('[dbmaint] test: daily maintenance'));
    expect(mail?.body.text).toMatch(/cleanup-data: 1 invocation, [\d,]+ s, left when the window closed: 2,500 rows/);
    // The later steps still had their turn.
    const o = (exec.output as { outcomes: Record<string, Outcome> }).outcomes;
    expect(daily.steps.slice(CLEANUP + 1).map((_, j) => o[`s${CLEANUP + 1 + j}`]!.status)).toEqual(daily.steps.slice(CLEANUP + 1).map(() => 'succeeded'));
  });

  it('fixes the cutoff at the window’s start: rows that aged during the window stay', async () => {
    // 200 rows 30 days and 20-80 minutes old: expired by now's cutoff, not by that of a window opened 2 h ago.
    await admin.query(`INSERT INTO \`${SCHEMA}\`.events (created_at, note) SELECT UTC_TIMESTAMP() - INTERVAL 30 DAY - INTERVAL (20 + seq % 60) MINUTE, 'aged' FROM seq_1_to_200`);
    const exec = await run(new Date(Date.now() - 2 * HOUR), `win-cutoff-${Date.now()}`);
    expect(cleanupOutcome(exec)).toMatchObject({ status: 'succeeded', invocations: 4 });
    expect(deleted.reduce((a, b) => a + b, 0)).toBe(3500);
    const [rows] = await admin.query(`SELECT COUNT(*) AS n FROM \`${SCHEMA}\`.events WHERE note = 'aged'`);
    expect(Number((rows as { n: number }[])[0]!.n)).toBe(200);
  });

  it('two executions for the same target never remove a row twice: every expired row goes exactly once', async () => {
    const [a, b] = await Promise.all([run(new Date(), `win-a-${Date.now()}`), run(new Date(), `win-b-${Date.now()}`)]);
    expect(a.violations).toEqual([]);
    expect(b.violations).toEqual([]);
    // Which execution holds the locks when is up to the scheduler (and the interpreter retries a busy server at once, so
    // one may give up early); what they removed together is not: every removed row was expired and went once.
    const removed = deleted.reduce((x, y) => x + y, 0);
    const after = await counts();
    expect(removed + after.old).toBe(3500);
    expect(after).toEqual({ old: 3500 - removed, young: 500, ids: 4000 - removed });
    for (const exec of [a, b]) expect(['succeeded', 'stopped-at-deadline', 'failed']).toContain(cleanupOutcome(exec).status);
    // The next execution finishes whatever is left.
    await run(new Date(), `win-c-${Date.now()}`);
    expect(deleted.reduce((x, y) => x + y, 0)).toBe(3500);
    expect(await counts()).toEqual({ old: 0, young: 500, ids: 500 });
  });
});
