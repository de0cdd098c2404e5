// Fault injection on real MariaDB: killed connections, a crashed server, lock waits and deadlocks, deadlines,
// metadata locks, and failing dependencies (SES, Secrets Manager, the network). After every fault: each row is
// in the source or the archive exactly once, no table is left half-altered, and the run log says what happened.
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEADLINE_SAFETY_MS } from '../functions/lambda-handler';
import type { DbMaintConfig } from '../lib/config/schema';
import { credentialsFromUrl, SecretsManagerCredentialSource, UrlCredentialSource, type CredentialSource } from '../lib/db/credentials';
import { lambdaContext } from '../dev/lambda-context';
import { freePort, startLocalMariaDb } from '../dev/mariadb-server';
import { localSesClient, startSesLocal } from '../dev/ses-emulator';
import type { RebuildResult } from '../lib/maintenance/rebuild';
import { EmfMetricsPublisher, type MetricsPublisher } from '../lib/metrics/emf';
import { SesMailSender } from '../lib/reporting/mail/sender';
import type { RetentionRule } from '../lib/retention/engine';
import { Deadline } from '../lib/runtime/deadline';
import { jsonLineLog, silentLog } from '../lib/runtime/log';
import type { RetentionResult } from '../lib/tasks/retention-task';
import { runTask } from '../lib/tasks/registry';
import type { TaskEnvironment, TaskRunResult } from '../lib/tasks/task-module';
import { commandLogDdl } from '../lib/runlog/command-log';
import { adminConnection, freshSchema, serverUrl, testConfig, testTarget } from './support/db';
import {
  killConnection,
  onFirstRowLockWait,
  waitForLockWait,
  runOnNewSession,
  runRuleLogged,
  sessionFor,
  tableFingerprint,
  waitForMetadataLockWait,
  waitUntilGone,
  type LoggedRun,
  type TableFingerprint,
} from './support/fault-actions';
import { FaultTally } from './support/fault-tally';
import { SETTINGS, rule as retentionRule } from './support/retention';
import { checkConservation, checkRunLog, chunkLog, snapshotRows, type ConservationSpec, type RowSnapshot, type TableName } from './support/row-conservation';
import { FIXED_SEEDS, faultSeeds, iterationRng } from './support/seeded-random';
import { injectFault, interceptStatements, type StatementKind } from './support/statement-interceptor';

const DAY_MS = 86_400_000;
const SEEDS = faultSeeds();
/** Connection kills per run (CI: 30); DBMAINT_FAULT_ITERATIONS raises it for a longer soak. */
const KILL_ITERATIONS = Math.max(SEEDS.seeds.length, Number(process.env['DBMAINT_FAULT_ITERATIONS'] ?? 30));
const CONNECTION_ERROR = /closed|lost|killed|interrupted|ended|reset|EPIPE|ECONNREFUSED/i;

let admin: mysql.Connection;

beforeAll(async () => {
  admin = await adminConnection();
  console.log(
    `fault seeds: fixed ${SEEDS.seeds.slice(0, -1).join(', ')}; this run's ${SEEDS.replayed ? 'replayed' : 'random'} seed ${SEEDS.runSeed} ` +
      `(replay: DBMAINT_FAULT_SEED=${SEEDS.runSeed} npx vitest run test/faults.test.ts)`,
  );
});
afterAll(async () => {
  await admin?.end();
});

// ---------------------------------------------------------------------------------------------------------------
// Tables: a template per key shape, copied fresh for every iteration.

type KeyType = 'int' | 'char';
type Action = 'delete' | 'archive';
type Walk = RetentionRule['walk'];

const KEY_SQL: Record<KeyType, string> = { int: 'CAST(id AS CHAR)', char: 'k' };
/** Every column but `touched` (which the concurrent writers update), NULL-safe: QUOTE(NULL) is NULL, QUOTE('') and QUOTE('NULL') are not. */
const contentOf = (columns: readonly string[]) => `MD5(CONCAT_WS(',', ${columns.map((c) => `QUOTE(${c})`).join(', ')}))`;
const CONTENT_SQL: Record<KeyType, string> = {
  int: contentOf(['id', 'created_at', 'user_id', 'payload', 'amount', 'note', 'seen_at']),
  char: contentOf(['k', 'created_at', 'payload', 'amount', 'note', 'seen_at']),
};
/** Columns whose values a narrowing conversion would change: 4 decimals, microseconds, NULL / '' / 'NULL' / trailing spaces, utf8mb4. */
const VALUE_COLUMNS = "amount DECIMAL(12,4) NOT NULL, note VARCHAR(20) CHARACTER SET utf8mb4 NULL, seen_at DATETIME(6) NULL";
const VALUE_FILL =
  "seq % 1000 + 0.1234, ELT(1 + seq % 6, NULL, '', 'NULL', 'pad  ', 'Grüße 😀', LEFT(MD5(seq), 8)), IF(seq % 7 = 0, NULL, '2026-01-02 03:04:05.123456' + INTERVAL seq MICROSECOND)";

/**
 * `tmpl_int` (INT key) and `tmpl_char` (CHAR(40) key, DATETIME(6)): `rows` rows, about two thirds 40 days old
 * (older than the rules' 30 days) spread over the whole key range, the rest a day old. `touched` is the column
 * concurrent writers update; it is not compared. Every other column is, values included (VALUE_COLUMNS).
 */
async function createTemplates(conn: mysql.Connection, schema: string, rows: number): Promise<void> {
  await conn.query(`USE \`${schema}\``); // MariaDB's seq_1_to_N tables need a current schema
  await conn.query(`CREATE TABLE tmpl_int (id INT NOT NULL PRIMARY KEY, created_at DATETIME NOT NULL, user_id INT NOT NULL, payload VARCHAR(40) NOT NULL,
      touched INT NOT NULL DEFAULT 0, ${VALUE_COLUMNS}, KEY ix_created (created_at)) ENGINE=InnoDB`);
  await conn.query(`INSERT INTO tmpl_int (id, created_at, user_id, payload, amount, note, seen_at)
      SELECT seq, UTC_TIMESTAMP() - INTERVAL IF(CRC32(seq) % 3 = 0, 1, 40) DAY - INTERVAL seq SECOND, seq % 97, MD5(seq), ${VALUE_FILL} FROM seq_1_to_${rows}`);
  await conn.query(`CREATE TABLE tmpl_char (k CHAR(40) NOT NULL PRIMARY KEY, created_at DATETIME(6) NOT NULL, payload VARCHAR(40) NOT NULL,
      touched INT NOT NULL DEFAULT 0, ${VALUE_COLUMNS}, KEY ix_created (created_at)) ENGINE=InnoDB`);
  await conn.query(`INSERT INTO tmpl_char (k, created_at, payload, amount, note, seen_at)
      SELECT SHA1(seq), UTC_TIMESTAMP(6) - INTERVAL IF(CRC32(seq) % 3 = 1, 1, 40) DAY - INTERVAL seq * 7 MICROSECOND, MD5(seq), ${VALUE_FILL} FROM seq_1_to_${rows}`);
}

interface Fixture {
  readonly rule: RetentionRule;
  readonly spec: ConservationSpec;
  readonly source: TableName;
}

/** A fresh copy of a template as `schema.name` (its archive dropped), the rule for it and what to compare. */
async function fixture(conn: mysql.Connection, schema: string, name: string, keyType: KeyType, action: Action, walk: Walk, now: Date): Promise<Fixture> {
  const source = { schema, table: name };
  const archive = { schema, table: `${name}_archive` };
  await conn.query(`DROP TABLE IF EXISTS \`${schema}\`.\`${name}\`, \`${schema}\`.\`${archive.table}\``);
  await conn.query(`CREATE TABLE \`${schema}\`.\`${name}\` LIKE \`${schema}\`.tmpl_${keyType}`);
  await conn.query(`INSERT INTO \`${schema}\`.\`${name}\` SELECT * FROM \`${schema}\`.tmpl_${keyType}`);
  const rule = retentionRule(schema, name, { action, walk, archiveSchema: schema, archiveTable: archive.table });
  const cutoff = new Date(now.getTime() - rule.retentionDays * DAY_MS);
  return {
    rule,
    source,
    spec: {
      source,
      ...(action === 'archive' ? { archive } : {}),
      key: KEY_SQL[keyType],
      content: CONTENT_SQL[keyType],
      match: 'created_at < ?',
      matchParams: [cutoff],
    },
  };
}

/** Fixed chunks (min = initial = max), so that chunk N exists and a seed always hits the same statement. */
const FIXED_CHUNKS = { ...SETTINGS, initialChunkRows: 100, minChunkRows: 100, maxChunkRows: 100 };

/**
 * After one run (faulted or not): the rows against the snapshot taken before it, and its run log against
 * the rows that actually went. Returns the violations and how many rows left the source.
 */
async function checkRun(
  tally: FaultTally,
  where: string,
  conn: mysql.Connection,
  f: Fixture,
  before: RowSnapshot,
  run: LoggedRun,
  logTable: TableName,
): Promise<{ violations: readonly string[]; removed: number; stillMatching: number }> {
  const rows = await checkConservation(conn, f.spec, before);
  const log = await checkRunLog(conn, logTable, run.runId, rows.removed, f.source.table);
  const violations = [...rows.violations, ...log.violations];
  if (f.spec.archive && rows.archived !== rows.removed) violations.push(`archive gained ${rows.archived} rows, the source lost ${rows.removed}`);
  if (run.result) {
    const r = run.result;
    const moved = r.rowsDeleted + r.rowsArchived;
    if (moved !== rows.removed) violations.push(`result says ${moved} rows moved, the source lost ${rows.removed}`);
    if (log.completed.length !== r.chunks) violations.push(`result says ${r.chunks} chunks, the run log ${log.completed.length} completed`);
  }
  const found = tally.record(where, { violations, rowsChecked: rows.rowsChecked });
  return { violations: found, removed: rows.removed, stillMatching: rows.stillMatching };
}

function describeRun(run: LoggedRun): string {
  return run.error ? `threw ${run.error.message}` : `${run.result!.status} (${run.result!.rowsDeleted + run.result!.rowsArchived} rows, ${run.result!.chunks} chunks)`;
}

/** One iteration per seed: the fixed seeds alternate delete and archive (both always covered), this run's seed draws. */
function actionFor(seed: number, n: number, faultClass: string): Action {
  if (n < FIXED_SEEDS.length) return n % 2 === 0 ? 'delete' : 'archive';
  return iterationRng(seed, `${faultClass}-action`, n).pick<Action>(['delete', 'archive']);
}

/** Iterations of a class spread over the seeds: iteration i runs with seed seeds[i % n]. */
function iterationsPerSeed(total: number): number[][] {
  const perSeed = SEEDS.seeds.map(() => [] as number[]);
  for (let i = 0; i < total; i++) perSeed[i % SEEDS.seeds.length]!.push(i);
  return perSeed;
}

// ---------------------------------------------------------------------------------------------------------------
describe('fault class 1: connection KILLed at random points of a chunk', () => {
  const S = 'fault_kill';
  const LOG: TableName = { schema: 'fault_kill_log', table: 'command_log' };
  const tally = new FaultTally('connection-kill');
  const DELETE_POINTS: readonly StatementKind[] = ['boundary', 'delete', 'log-row', 'commit', 'status'];
  const ARCHIVE_POINTS: readonly StatementKind[] = ['boundary', 'lock-rows', 'copy', 'verify', 'delete', 'log-row', 'commit', 'status'];

  beforeAll(async () => {
    await freshSchema(admin, S);
    await admin.query(`DROP DATABASE IF EXISTS \`${LOG.schema}\``);
    await createTemplates(admin, S, 3000);
  });

  /** One connection kill: run until the fault, check, run again to the end, check. */
  async function killIteration(
    seed: number,
    i: number,
    point: { kind: StatementKind; chunk: number; timing: 'before' | 'during' | 'after' },
    action: Action,
    keyType: KeyType,
    walk: Walk,
    afterFault?: (f: Fixture) => Promise<void>,
  ) {
    const where = `seed ${seed} iteration ${i} (${action} ${keyType} walk ${walk}; kill ${point.timing} ${point.kind} of chunk ${point.chunk})`;
    const now = new Date();
    const f = await fixture(admin, S, `t${i}`, keyType, action, walk, now);
    const before = await snapshotRows(admin, f.spec);
    expect(before.matching.size, where).toBeGreaterThan(1500);

    const db = await sessionFor(serverUrl());
    const threadId = db.threadId;
    const { session, fired } = injectFault(db, { ...point, action: () => killConnection(admin, threadId) });
    const first = await runRuleLogged(session, f.rule, { now, settings: FIXED_CHUNKS, logTable: LOG });
    await db.close();
    await waitUntilGone(admin, threadId);
    expect(fired(), `${where}: the fault point was reached`).toBeDefined();
    if (first.error) expect(first.error.message, where).toMatch(CONNECTION_ERROR);
    else expect(first.result!.status, where).toBe('completed'); // killed after its last statement
    const a = await checkRun(tally, `${where}, faulted run ${describeRun(first)}`, admin, f, before, first, LOG);
    expect.soft(a.violations, where).toEqual([]);
    await afterFault?.(f);

    // The next run starts from the data and finishes the job.
    const mid = await snapshotRows(admin, f.spec);
    const next = await runOnNewSession(serverUrl(), f.rule, { now, settings: FIXED_CHUNKS, logTable: LOG });
    expect(next.error, where).toBeUndefined();
    expect(next.result, where).toMatchObject({ status: 'completed', rowsRemaining: 0 });
    const b = await checkRun(tally, `${where}, next run`, admin, f, mid, next, LOG);
    expect.soft(b.violations, where).toEqual([]);
    expect(b.stillMatching, `${where}: rows the rule matches are left`).toBe(0);
    // Over both runs: exactly the rows that matched at the start went (the archive holds them all).
    const whole = await checkConservation(admin, f.spec, before);
    expect.soft(tally.record(`${where}, both runs`, { violations: whole.violations }), where).toEqual([]);
    expect(whole.removed, where).toBe(before.matching.size);
    if (action === 'archive') expect(whole.archived, where).toBe(before.matching.size);
    tally.iteration();
  }

  it.each(iterationsPerSeed(KILL_ITERATIONS).map((its, n) => [SEEDS.seeds[n]!, its] as const))(
    'seed %i: kill, check, finish with the next run, check',
    async (seed, iterations) => {
      for (const [j, i] of iterations.entries()) {
        const rng = iterationRng(seed, 'kill', i);
        // Each seed alternates delete and archive; the rest comes from the seed.
        const action: Action = j % 2 === 0 ? 'delete' : 'archive';
        const keyType = rng.pick<KeyType>(['int', 'char']);
        const walk = rng.pick<Walk>(['auto', 'primary-key', 'date-index']);
        const kind = rng.pick(action === 'delete' ? DELETE_POINTS : ARCHIVE_POINTS);
        const point = { kind, chunk: rng.int(1, 12), timing: rng.pick(['before', 'during', 'after'] as const) };
        await killIteration(seed, i, point, action, keyType, walk);
      }
    },
  );

  it('a kill while the archive table is being created leaves nothing half-made: the next run archives', async () => {
    const points = [
      { kind: 'create-archive', timing: 'after' }, // created LIKE the source, archived_at not yet added
      { kind: 'alter-archive', timing: 'before' },
      { kind: 'alter-archive', timing: 'during' },
    ] as const;
    for (const [n, p] of points.entries()) {
      const halfMade = async (f: Fixture) => {
        // The kill left the archive table as CREATE TABLE … LIKE made it: without archived_at, empty.
        const [cols] = await admin.query<mysql.RowDataPacket[]>(
          "SELECT COUNT(*) AS n, SUM(COLUMN_NAME = 'archived_at') AS arch FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
          [f.spec.archive!.schema, f.spec.archive!.table],
        );
        expect(Number(cols[0]!['n']), 'archive table created').toBeGreaterThan(0);
        expect(Number(cols[0]!['arch']), 'archived_at not added yet').toBe(0);
      };
      // A kill *during* the ALTER may land before or after it: the next run must finish either way.
      await killIteration(0, 1000 + n, { kind: p.kind, chunk: 0, timing: p.timing }, 'archive', n % 2 ? 'char' : 'int', 'auto', p.timing === 'during' ? undefined : halfMade);
    }
  });

  /**
   * Regression: the chunk's run-log row is written inside the chunk's transaction, and a failure of that INSERT
   * other than a deadlock or lock wait timeout was only logged — the chunk then committed without its row. Here
   * the INSERT waits for a metadata lock and is interrupted (KILL QUERY, as a DBA clearing a pile-up would do).
   */
  it('KILL QUERY of a chunk’s run-log insert: the chunk rolls back instead of committing without its row', async () => {
    for (const action of ['delete', 'archive'] as const) {
      const where = `KILL QUERY of the run-log insert (${action})`;
      const now = new Date();
      const f = await fixture(admin, S, `q_${action}`, 'int', action, 'auto', now);
      const before = await snapshotRows(admin, f.spec);
      const locker = await adminConnection();
      const db = await sessionFor(serverUrl());
      let killed = false;
      const session = interceptStatements(db, {
        before: async (e) => {
          if (e.kind === 'log-row' && e.chunk === 3 && !killed) await locker.query(`LOCK TABLES \`${LOG.schema}\`.\`${LOG.table}\` WRITE`);
        },
        during: async (e) => {
          if (e.kind !== 'log-row' || e.chunk !== 3 || killed) return;
          killed = true;
          expect(await waitForMetadataLockWait(admin, `INSERT INTO \`${LOG.schema}\`.\`${LOG.table}\`%`), where).toBe(true);
          await admin.query(`KILL QUERY ${db.threadId}`);
          await locker.query('UNLOCK TABLES');
        },
      });
      const first = await runRuleLogged(session, f.rule, { now, settings: FIXED_CHUNKS, logTable: LOG });
      await locker.end();
      await db.close();
      expect(killed, where).toBe(true);
      expect(first.error, where).toBeUndefined();
      expect(first.result, where).toMatchObject({ status: 'failed', chunks: 2, message: 'chunk 3 failed: Query execution was interrupted' });
      const a = await checkRun(tally, `${where}, ${describeRun(first)}`, admin, f, before, first, LOG);
      expect.soft(a.violations, where).toEqual([]);
      const failed = (await chunkLog(admin, LOG, first.runId, f.source.table)).filter((c) => c.errorNumber !== null);
      expect(failed.map((c) => [c.chunk, c.errorNumber]), where).toEqual([[3, 1317]]);
      const mid = await snapshotRows(admin, f.spec);
      const next = await runOnNewSession(serverUrl(), f.rule, { now, settings: FIXED_CHUNKS, logTable: LOG });
      expect(next.result, where).toMatchObject({ status: 'completed', rowsRemaining: 0 });
      const b = await checkRun(tally, `${where}, next run`, admin, f, mid, next, LOG);
      expect.soft(b.violations, where).toEqual([]);
      expect(b.stillMatching, where).toBe(0);
      tally.iteration();
    }
  });

  /** The two statements of an archive chunk that checksum its rows: the locking read of the source, and the read of the copies. */
  const CHECKSUM_POINTS = (['lock-rows', 'verify'] as const).flatMap((kind) => (['before', 'during', 'after'] as const).map((timing) => ({ kind, timing })));

  it.each(CHECKSUM_POINTS.map((p, n) => [p.timing, p.kind, n] as const))(
    'connection KILLed %s the chunk checksum statement %s: nothing lost, doubled or changed; the next run finishes',
    async (timing, kind, n) => {
      await killIteration(0, 2000 + n, { kind, chunk: 3, timing }, 'archive', n % 2 ? 'char' : 'int', n < 3 ? 'primary-key' : 'date-index');
    },
  );

  /**
   * KILL QUERY of the statement that locks and checksums a chunk's rows, while it waits for a row an application
   * transaction holds: the chunk rolls back and the rule fails with the interruption (1317 is not retried).
   */
  let interruptedVerifies = 0;
  it.each(['int', 'char'] as const)('KILL QUERY of the checksum that locks a chunk’s rows, while it waits for a row lock (%s key)', async (keyType) => {
    const where = `KILL QUERY of lock-rows (${keyType})`;
    const now = new Date();
    const f = await fixture(admin, S, `kq_${keyType}`, keyType, 'archive', 'primary-key', now);
    const keyCol = keyType === 'int' ? 'id' : 'k';
    const [[held]] = await admin.query<mysql.RowDataPacket[]>(
      `SELECT ${keyCol} AS k FROM \`${S}\`.\`${f.source.table}\` WHERE ${f.spec.match} ORDER BY ${keyCol} LIMIT 1 OFFSET 700`,
      [...f.spec.matchParams],
    );
    const before = await snapshotRows(admin, f.spec);
    const writer = await adminConnection();
    const monitor = await adminConnection();
    await writer.query('START TRANSACTION');
    await writer.query(`UPDATE \`${S}\`.\`${f.source.table}\` SET touched = touched + 1 WHERE ${keyCol} = ?`, [held!['k']]);
    const db = await sessionFor(serverUrl(), { innodbLockWaitTimeoutSeconds: 30 });
    let killed: StatementKind | undefined;
    const session = interceptStatements(db, {
      during: async (e, settled) => {
        if (killed || e.kind !== 'lock-rows' || !(await waitForLockWait(monitor, db.threadId, settled))) return;
        killed = e.kind;
        await admin.query(`KILL QUERY ${db.threadId}`);
      },
    });
    const first = await runRuleLogged(session, f.rule, { now, settings: FIXED_CHUNKS, logTable: LOG });
    await writer.query('ROLLBACK');
    await writer.end();
    await monitor.end();
    await db.close();
    expect(killed, `${where}: the checksum waited for the row and was killed`).toBe('lock-rows');
    expect(first.error, where).toBeUndefined();
    expect(first.result, where).toMatchObject({ status: 'failed', retries: 0, message: expect.stringMatching(/^chunk \d+ failed: Query execution was interrupted$/) });
    const a = await checkRun(tally, `${where}, ${describeRun(first)}`, admin, f, before, first, LOG);
    expect.soft(a.violations, where).toEqual([]);
    expect(a.removed, `${where}: the chunks before it committed`).toBeGreaterThan(0);
    expect((await chunkLog(admin, LOG, first.runId, f.source.table)).filter((c) => c.errorNumber !== null).map((c) => c.errorNumber), where).toEqual([1317]);
    const mid = await snapshotRows(admin, f.spec);
    const next = await runOnNewSession(serverUrl(), f.rule, { now, settings: FIXED_CHUNKS, logTable: LOG });
    expect(next.result, where).toMatchObject({ status: 'completed', rowsRemaining: 0 });
    const b = await checkRun(tally, `${where}, next run`, admin, f, mid, next, LOG);
    expect.soft(b.violations, where).toEqual([]);
    const whole = await checkConservation(admin, f.spec, before);
    expect.soft(tally.record(`${where}, both runs`, { violations: whole.violations }), where).toEqual([]);
    expect(whole.archived, where).toBe(before.matching.size);
    tally.iteration();
  });

  /**
   * KILL QUERY while the copies are checksummed. That read takes no lock, so nothing holds it still: the kill may land
   * after it ended (then the chunk goes on). Either way every row is in one place with its values; how many were
   * interrupted is printed.
   */
  it.each(['primary-key', 'date-index'] as const)('KILL QUERY while a chunk’s copies are checksummed (%s walk)', async (walk) => {
    const where = `KILL QUERY of verify (${walk})`;
    const now = new Date();
    const f = await fixture(admin, S, `kv_${walk.replace('-', '_')}`, 'char', 'archive', walk, now);
    const before = await snapshotRows(admin, f.spec);
    const db = await sessionFor(serverUrl());
    // Large chunks: the read of the copies then lasts long enough for the kill to land in it, most of the time.
    const settings = { ...SETTINGS, initialChunkRows: 700, minChunkRows: 700, maxChunkRows: 700 };
    const { session, fired } = injectFault(db, { kind: 'verify', chunk: 2, timing: 'during', action: () => admin.query(`KILL QUERY ${db.threadId}`).then(() => undefined) });
    const first = await runRuleLogged(session, f.rule, { now, settings, logTable: LOG });
    await db.close();
    expect(fired(), where).toBeDefined();
    expect(first.error, where).toBeUndefined();
    const interrupted = first.result!.status === 'failed';
    if (interrupted) {
      interruptedVerifies++;
      expect(first.result!.message, where).toMatch(/^chunk 2 failed: Query execution was interrupted$/);
    } else {
      expect(first.result, where).toMatchObject({ status: 'completed', rowsRemaining: 0 });
    }
    const a = await checkRun(tally, `${where}, ${describeRun(first)}`, admin, f, before, first, LOG);
    expect.soft(a.violations, where).toEqual([]);
    const next = await runOnNewSession(serverUrl(), f.rule, { now, settings, logTable: LOG });
    expect(next.result, where).toMatchObject({ status: 'completed', rowsRemaining: 0 });
    const whole = await checkConservation(admin, f.spec, before);
    expect.soft(tally.record(`${where}, both runs`, { violations: whole.violations, rowsChecked: whole.rowsChecked }), where).toEqual([]);
    expect(whole.archived, where).toBe(before.matching.size);
    tally.iteration();
  });

  it('summary', () => {
    console.log(tally.line());
    console.log(`fault-class connection-kill: KILL QUERY interrupted the copies' checksum in ${interruptedVerifies} of 2 runs (the others ended first)`);
    expect(tally.iterations).toBe(KILL_ITERATIONS + 3 + 2 + CHECKSUM_POINTS.length + 2 + 2);
    expect(tally.violations).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// A MariaDB of this file's own, for the faults that would disturb the shared server: crashes (class 2) and
// metadata locks (class 5; the shared server's metadata_lock_info plugin comes and goes with optimize.test.ts).

type PrivateServer = Awaited<ReturnType<typeof startLocalMariaDb>>;
let privateServer: Promise<PrivateServer> | undefined;
function ownServer(): Promise<PrivateServer> {
  // Durable commits, as in production: a crash keeps exactly what was committed.
  privateServer ??= startLocalMariaDb({ flushLogAtTrxCommit: 1, bufferPoolMb: 64 });
  return privateServer;
}
afterAll(async () => {
  await (await privateServer)?.stop();
});

describe('fault class 2: the server crashes (SIGKILL of mariadbd) in the middle of a purge and an archive', () => {
  const S = 'fault_restart';
  const LOG: TableName = { schema: 'fault_restart_log', table: 'command_log' };
  const tally = new FaultTally('server-restart');
  const POINTS: readonly StatementKind[] = ['boundary', 'lock-rows', 'copy', 'verify', 'delete', 'log-row', 'commit', 'status'];
  let srv: PrivateServer;
  let conn: mysql.Connection;

  beforeAll(async () => {
    srv = await ownServer();
    conn = await adminConnection(srv.url);
    await freshSchema(conn, S);
    await createTemplates(conn, S, 2000);
  });
  afterAll(async () => {
    await conn?.end().catch(() => undefined);
  });

  it.each(SEEDS.seeds.map((seed) => [seed] as const))('seed %i: crash mid-purge and mid-archive, recover, check, finish', async (seed) => {
    for (const [n, action] of (['delete', 'archive'] as const).entries()) {
      const rng = iterationRng(seed, 'restart', n);
      const keyType = rng.pick<KeyType>(['int', 'char']);
      const walk = rng.pick<Walk>(['auto', 'primary-key', 'date-index']);
      const kinds = action === 'delete' ? POINTS.filter((k) => k !== 'lock-rows' && k !== 'copy' && k !== 'verify') : POINTS;
      const point = { kind: rng.pick(kinds), chunk: rng.int(2, 8), timing: rng.pick(['before', 'during', 'after'] as const) };
      const where = `seed ${seed} ${action} ${keyType} walk ${walk}; crash ${point.timing} ${point.kind} of chunk ${point.chunk}`;
      const now = new Date();
      const f = await fixture(conn, S, `t_${action}`, keyType, action, walk, now);
      const before = await snapshotRows(conn, f.spec);

      // A global setting that only a restart resets: proof that the server really went down.
      await conn.query('SET GLOBAL max_connect_errors = 4242');
      const db = await sessionFor(srv.url);
      const { session, fired } = injectFault(db, { ...point, action: () => srv.restart({ signal: 'SIGKILL' }) });
      const first = await runRuleLogged(session, f.rule, { now, settings: FIXED_CHUNKS, logTable: LOG });
      await db.close();
      expect(fired(), `${where}: the crash point was reached`).toBeDefined();
      expect(first.error?.message, where).toMatch(CONNECTION_ERROR);
      // The server is back: InnoDB crash recovery has rolled back the chunk that was in flight.
      await conn.end().catch(() => undefined);
      conn = await adminConnection(srv.url);
      const [[restarted]] = await conn.query<mysql.RowDataPacket[]>('SELECT @@GLOBAL.max_connect_errors AS v');
      expect(Number(restarted!['v']), `${where}: the server was restarted`).not.toBe(4242);
      const a = await checkRun(tally, `${where}, crashed run`, conn, f, before, first, LOG);
      expect.soft(a.violations, where).toEqual([]);
      expect(a.removed, `${where}: chunks before the crash stayed committed`).toBeGreaterThan(0);

      const mid = await snapshotRows(conn, f.spec);
      const next = await runOnNewSession(srv.url, f.rule, { now, settings: FIXED_CHUNKS, logTable: LOG });
      expect(next.error, where).toBeUndefined();
      expect(next.result, where).toMatchObject({ status: 'completed', rowsRemaining: 0 });
      const b = await checkRun(tally, `${where}, next run`, conn, f, mid, next, LOG);
      expect.soft(b.violations, where).toEqual([]);
      expect(b.stillMatching, where).toBe(0);
      const whole = await checkConservation(conn, f.spec, before);
      expect.soft(tally.record(`${where}, both runs`, { violations: whole.violations }), where).toEqual([]);
      expect(whole.removed, where).toBe(before.matching.size);
      tally.iteration();
    }
  });

  it('summary', () => {
    console.log(tally.line());
    expect(tally.iterations).toBe(SEEDS.seeds.length * 2);
    expect(tally.violations).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------------------
function errnoOf(err: unknown): number | undefined {
  const n = (err as { errno?: unknown } | undefined)?.errno;
  return typeof n === 'number' ? n : undefined;
}

describe('fault class 3: lock wait timeouts and deadlocks from a concurrent writer on the same rows', () => {
  const S = 'fault_lock';
  const LOG: TableName = { schema: 'fault_lock_log', table: 'command_log' };
  const tally = new FaultTally('lock-contention');
  /** Chunks that can halve: 200 → 100 → 50 → 25. */
  const SHRINKING = { ...SETTINGS, initialChunkRows: 200, minChunkRows: 25, maxChunkRows: 200 };
  let engineDeadlocks = 0;

  beforeAll(async () => {
    await freshSchema(admin, S);
    await admin.query(`DROP DATABASE IF EXISTS \`${LOG.schema}\``);
    await createTemplates(admin, S, 2000);
    // Rows a writer updates first, so that its transaction outweighs a chunk's: InnoDB then picks the chunk as the deadlock victim.
    await admin.query(`CREATE TABLE \`${S}\`.ballast (id INT PRIMARY KEY, v INT NOT NULL) ENGINE=InnoDB`);
    await admin.query(`INSERT INTO \`${S}\`.ballast SELECT seq, 0 FROM seq_1_to_3000`);
  });

  /** Keys of the rows the rule matches, in the order the walk visits them. */
  async function matchingKeys(f: Fixture, keyType: KeyType, walk: Walk): Promise<unknown[]> {
    const key = keyType === 'int' ? 'id' : 'k';
    const order = walk === 'date-index' ? `created_at, ${key}` : key;
    const [rows] = await admin.query<mysql.RowDataPacket[]>(`SELECT ${key} AS k FROM \`${S}\`.\`${f.source.table}\` WHERE ${f.spec.match} ORDER BY ${order}`, [
      ...f.spec.matchParams,
    ]);
    return rows.map((r) => r['k']);
  }

  /** Every failed chunk was retried (under a new number, `retryOf` it) at half its size (never under minChunkRows), unless the rule gave up. */
  async function shrinkViolations(runId: string, table: string, gaveUp = false): Promise<string[]> {
    const rows = await chunkLog(admin, LOG, runId, table);
    const out: string[] = [];
    rows.forEach((prev, j) => {
      if (prev.errorNumber === null) return;
      const retry = rows.find((r) => r.retryOf === prev.chunk);
      if (!retry) {
        if (!(gaveUp && j === rows.length - 1)) out.push(`chunk ${prev.chunk} failed and no chunk retried its range`);
        return;
      }
      if (retry.chunk! <= prev.chunk!) out.push(`chunk ${prev.chunk} retried as chunk ${retry.chunk}: numbers must rise`);
      const want = Math.max(SHRINKING.minChunkRows, Math.floor(prev.chunkRows! / 2));
      if (retry.chunkRows !== want) out.push(`chunk ${prev.chunk} retried (chunk ${retry.chunk}) with ${retry.chunkRows} rows after ${prev.chunkRows} failed (expected ${want})`);
    });
    return out;
  }

  /**
   * A writer holds row locks on rows the run needs (UPDATE in an open transaction) and lets go only after the
   * run has hit innodb_lock_wait_timeout (1 s) `releaseAfter` times; more than 5 and the rule gives up.
   */
  async function lockWaitIteration(seed: number, n: number, action: Action, releaseAfter: number): Promise<void> {
    const rng = iterationRng(seed, 'lock-wait', n);
    const keyType = rng.pick<KeyType>(['int', 'char']);
    const walk = rng.pick<Walk>(['primary-key', 'date-index']);
    const now = new Date();
    const f = await fixture(admin, S, `w_${n}`, keyType, action, walk, now);
    const keys = await matchingKeys(f, keyType, walk);
    // Giving up needs the same chunk to fail 6 times: lock the first rows. Otherwise anywhere.
    const start = releaseAfter > 5 ? 0 : rng.int(0, keys.length - 40);
    const locked = keys.slice(start, start + rng.int(1, 30));
    const where = `seed ${seed} lock-wait ${n} (${action} ${keyType} walk ${walk}; ${locked.length} rows locked from #${start}; released after ${releaseAfter} timeouts)`;
    const before = await snapshotRows(admin, f.spec);

    const holder = await adminConnection();
    await holder.query('START TRANSACTION');
    await holder.query(`UPDATE \`${S}\`.\`${f.source.table}\` SET touched = touched + 1 WHERE ${keyType === 'int' ? 'id' : 'k'} IN (?)`, [locked]);
    const db = await sessionFor(serverUrl(), { innodbLockWaitTimeoutSeconds: 1, lockWaitTimeoutSeconds: 1 });
    let timeouts = 0;
    const session = interceptStatements(db, {
      after: async (_e, err) => {
        if (errnoOf(err) === 1205 && ++timeouts === releaseAfter) await holder.query('COMMIT');
      },
    });
    const run = await runRuleLogged(session, f.rule, { now, settings: SHRINKING, logTable: LOG });
    await holder.query('COMMIT');
    await holder.end();
    await db.close();

    expect(run.error, where).toBeUndefined();
    const r = run.result!;
    const log = await chunkLog(admin, LOG, run.runId, f.source.table);
    const failed = log.filter((c) => c.errorNumber !== null);
    expect(failed.map((c) => c.errorNumber), where).toEqual(Array(Math.min(releaseAfter, 6)).fill(1205));
    if (releaseAfter <= 5) {
      expect(timeouts, where).toBe(releaseAfter);
      expect(r, where).toMatchObject({ status: 'completed', rowsRemaining: 0, retries: releaseAfter });
    } else {
      expect(timeouts, where).toBe(6);
      expect(r, where).toMatchObject({ status: 'failed', retries: 5 });
      // The first chunk's range, tried six times under six numbers.
      expect(r.message, where).toMatch(/^chunk 6 failed: Lock wait timeout exceeded/);
      // Without a second session the wait is not seen; the writer's transaction, older than it and locking rows, is named.
      expect(r.blocker, where).toMatchObject({ kind: 'lock of unknown kind', observed: 'after the error' });
      expect(r.message, where).toContain(`possibly held by connection ${holder.threadId}`);
    }
    const check = await checkRun(tally, `${where}, run ${describeRun(run)}`, admin, f, before, run, LOG);
    const shrink = tally.record(where, { violations: await shrinkViolations(run.runId, f.source.table, r.status === 'failed') });
    expect.soft([...check.violations, ...shrink], where).toEqual([]);

    if (r.status !== 'completed') {
      // The writer is gone: the next run finishes.
      const mid = await snapshotRows(admin, f.spec);
      const next = await runOnNewSession(serverUrl(), f.rule, { now, settings: SHRINKING, logTable: LOG });
      expect(next.result, where).toMatchObject({ status: 'completed', rowsRemaining: 0 });
      const b = await checkRun(tally, `${where}, next run`, admin, f, mid, next, LOG);
      expect.soft(b.violations, where).toEqual([]);
    }
    const whole = await checkConservation(admin, f.spec, before);
    expect.soft(tally.record(`${where}, overall`, { violations: whole.violations }), where).toEqual([]);
    expect(whole.stillMatching, where).toBe(0);
    tally.iteration();
  }

  /**
   * A writer that locks a row the chunk needs (H), and — once the chunk waits for it — the rows just before H,
   * which the chunk already holds: the opposite order, a deadlock. Its transaction is heavier, so InnoDB rolls
   * the chunk back (1213); the engine retries it smaller.
   */
  async function deadlockIteration(seed: number, n: number, action: Action): Promise<void> {
    const rng = iterationRng(seed, 'deadlock', n);
    const keyType = rng.pick<KeyType>(['int', 'char']);
    const walk = rng.pick<Walk>(['primary-key', 'date-index']);
    const now = new Date();
    const f = await fixture(admin, S, `d_${n}`, keyType, action, walk, now);
    const keys = await matchingKeys(f, keyType, walk);
    const h = rng.int(20, keys.length - 20);
    const where = `seed ${seed} deadlock ${n} (${action} ${keyType} walk ${walk}; writer holds row #${h})`;
    const keyCol = keyType === 'int' ? 'id' : 'k';
    const table = `\`${S}\`.\`${f.source.table}\``;
    const before = await snapshotRows(admin, f.spec);

    const writer = await adminConnection();
    const writerId = writer.threadId;
    const monitor = await adminConnection();
    await writer.query('START TRANSACTION');
    await writer.query(`UPDATE \`${S}\`.ballast SET v = v + 1`);
    await writer.query(`UPDATE ${table} SET touched = touched + 1 WHERE ${keyCol} = ?`, [keys[h]]);
    const db = await sessionFor(serverUrl(), { innodbLockWaitTimeoutSeconds: 5 });
    let writerVictim = false;
    const { session, fired: triggered } = onFirstRowLockWait(db, monitor, async () => {
      try {
        await writer.query(`UPDATE ${table} SET touched = touched + 1 WHERE ${keyCol} IN (?) ORDER BY ${keyCol} DESC`, [keys.slice(h - 10, h)]);
      } catch (err) {
        if (errnoOf(err) !== 1213) throw err;
        writerVictim = true;
      }
      await writer.query('COMMIT');
    });
    const run = await runRuleLogged(session, f.rule, { now, settings: SHRINKING, logTable: LOG });
    await writer.query('COMMIT');
    await writer.end();
    await monitor.end();
    await db.close();

    expect(triggered(), `${where}: the chunk waited for the writer's row`).toBe(true);
    expect(run.error, where).toBeUndefined();
    expect(run.result, where).toMatchObject({ status: 'completed', rowsRemaining: 0 });
    const log = await chunkLog(admin, LOG, run.runId, f.source.table);
    const failed = log.filter((c) => c.errorNumber !== null);
    expect(failed.map((c) => c.errorNumber), where).toEqual(failed.map(() => 1213));
    // InnoDB's deadlock report names the writer; the run log's error text says so.
    for (const c of failed) expect(c.errorMessage, where).toContain(`— deadlock on \`${S}\`.\``);
    for (const c of failed) expect(c.errorMessage, where).toContain(`deadlocked with connection ${writerId}`);
    expect(run.result!.retries, where).toBe(failed.length);
    if (writerVictim) expect(failed, where).toEqual([]);
    engineDeadlocks += failed.length;
    const check = await checkRun(tally, `${where}, run ${describeRun(run)}`, admin, f, before, run, LOG);
    const shrink = tally.record(where, { violations: await shrinkViolations(run.runId, f.source.table) });
    expect.soft([...check.violations, ...shrink], where).toEqual([]);
    expect(check.stillMatching, where).toBe(0);
    tally.iteration();
  }

  it.each(SEEDS.seeds.map((seed, n) => [seed, n] as const))('seed %i: a writer holds the rows until the chunk has timed out 1-2 times', async (seed, n) => {
    await lockWaitIteration(seed, n, actionFor(seed, n, 'lock-wait'), iterationRng(seed, 'lock-wait-k', n).int(1, 2));
  });

  it('a writer that never lets go: the rule fails after 5 retries, nothing lost, the next run finishes', async () => {
    await lockWaitIteration(SEEDS.seeds[0]!, 100, 'archive', Number.POSITIVE_INFINITY);
  });

  it.each(SEEDS.seeds.map((seed, n) => [seed, n] as const))('seed %i: a writer updating rows in the opposite order deadlocks with the chunk', async (seed, n) => {
    // The other action than the lock-wait iteration of the same seed.
    await deadlockIteration(seed, n, actionFor(seed, n, 'deadlock') === 'delete' ? 'archive' : 'delete');
  });

  /**
   * A writer updates a row's payload in an open transaction; the chunk that archives the row must wait for it
   * and copy the committed update — not copy the old version, then delete the row the writer just updated.
   */
  it.each([
    ['int', 'primary-key'],
    ['int', 'date-index'],
    ['char', 'primary-key'],
    ['char', 'date-index'],
  ] as const)('an update committed while its row is being archived is not lost (%s key, %s walk)', async (keyType, walk) => {
    const now = new Date();
    const f = await fixture(admin, S, `u_${keyType}_${walk.replace('-', '_')}`, keyType, 'archive', walk, now);
    const keys = await matchingKeys(f, keyType, walk);
    const keyCol = keyType === 'int' ? 'id' : 'k';
    const h = keys[Math.floor(keys.length / 3)];
    const where = `lost update (${keyType} ${walk}), row ${String(h)}`;
    const before = await snapshotRows(admin, f.spec);
    const writer = await adminConnection();
    const monitor = await adminConnection();
    await writer.query('START TRANSACTION');
    await writer.query(`UPDATE \`${S}\`.\`${f.source.table}\` SET payload = 'updated by the application' WHERE ${keyCol} = ?`, [h]);
    const db = await sessionFor(serverUrl(), { innodbLockWaitTimeoutSeconds: 5 });
    const { session, fired: released } = onFirstRowLockWait(db, monitor, async () => {
      await writer.query('COMMIT');
    });
    const run = await runRuleLogged(session, f.rule, { now, settings: SHRINKING, logTable: LOG });
    await writer.query('COMMIT');
    await writer.end();
    await monitor.end();
    await db.close();
    expect(released(), `${where}: the chunk waited for the writer`).toBe(true);
    expect(run.result, where).toMatchObject({ status: 'completed', rowsRemaining: 0, retries: 0 });
    const [rows] = await admin.query<mysql.RowDataPacket[]>(`SELECT payload FROM \`${S}\`.\`${f.spec.archive!.table}\` WHERE ${keyCol} = ?`, [h]);
    expect(rows.map((r) => r['payload']), `${where}: the archive holds the committed update`).toEqual(['updated by the application']);
    // Every other row as it was; the updated one is compared above.
    const others = await checkConservation(admin, { ...f.spec, content: `IF(${keyCol} = ${admin.escape(h)}, 'x', ${f.spec.content})` }, {
      ...before,
      rows: new Map([...before.rows].map(([k, v]) => [k, k === String(h) ? 'x' : v])),
    });
    expect.soft(tally.record(where, others), where).toEqual([]);
    tally.iteration();
  });

  /**
   * Regression: late in a purge (most rows gone, the table's row estimate shrunk) the optimizer preferred a
   * full table scan for the chunk's DELETE: every row of the table read and locked, so the chunk waited for
   * (and deadlocked with) application rows far outside its key range. Every chunk statement must use the walked index.
   */
  it.each([
    ['delete', 'date-index'],
    ['archive', 'date-index'],
    ['delete', 'primary-key'],
    ['archive', 'primary-key'],
  ] as const)('%s, %s walk: every chunk statement uses the walked index, never a table scan', async (action, walk) => {
    for (const keyType of ['int', 'char'] as const) {
      const now = new Date();
      const f = await fixture(admin, S, `x_${keyType}`, keyType, action, walk, now);
      const index = walk === 'primary-key' ? 'PRIMARY' : 'ix_created';
      const plans: string[] = [];
      const db = await sessionFor(serverUrl());
      const session = interceptStatements(db, {
        before: async (e) => {
          if (!['lock-rows', 'copy', 'verify', 'delete'].includes(e.kind)) return;
          const [rows] = await admin.query<mysql.RowDataPacket[]>(`EXPLAIN ${e.sql.replace(/ FOR UPDATE\s*$/, '')}`, [...e.params]);
          // The copies' checksum reads the archive, on the same index (the archive was created LIKE the source).
          const src = rows.find((r) => r['table'] === (e.kind === 'verify' ? f.spec.archive!.table : f.source.table));
          plans.push(`chunk ${e.chunk} ${e.kind}: ${src?.['type']} ${src?.['key']}`);
        },
      });
      // Large chunks: a chunk's range is then a sizeable share of what is left of the table.
      const settings = { ...SETTINGS, initialChunkRows: 300, minChunkRows: 300, maxChunkRows: 300 };
      const run = await runRuleLogged(session, f.rule, { now, settings, logTable: LOG });
      await db.close();
      expect(run.result, `${action} ${keyType} ${walk}`).toMatchObject({ status: 'completed', rowsRemaining: 0, walk });
      expect(plans.length).toBeGreaterThan(4);
      expect(plans.filter((p) => !p.endsWith(` range ${index}`)), `${action} ${keyType} ${walk}`).toEqual([]);
    }
  });

  it('summary', () => {
    console.log(tally.line());
    expect(tally.iterations).toBe(SEEDS.seeds.length * 2 + 1 + 4);
    expect(tally.violations).toEqual([]);
    // The deadlock path was exercised, not only the writers' side of it.
    expect(engineDeadlocks).toBeGreaterThan(0);
  });
});

// ---------------------------------------------------------------------------------------------------------------
/** Metrics as the handler would publish them, kept as (table or '*', name) → value. */
function capturingMetrics(): MetricsPublisher & { readonly points: Map<string, number>; readonly docs: string[] } {
  const points = new Map<string, number>();
  const docs: string[] = [];
  const emf = new EmfMetricsPublisher('Test/DbMaintFaults', (line) => docs.push(line));
  return {
    points,
    docs,
    publish(task, database, pts, table) {
      for (const p of pts) points.set(`${table ?? '*'}:${p.name}`, p.value);
      return emf.publish(task, database, pts, table);
    },
  };
}

/**
 * A deadline with plenty of time for `plentyCalls` looks at it, then `leftMs` left for good: the budget running out
 * at a point chosen by the seed, whatever the machine's speed.
 */
class DroppingDeadline extends Deadline {
  calls = 0;
  constructor(
    private readonly plentyCalls: number,
    private readonly leftMs: number,
  ) {
    super(Number.POSITIVE_INFINITY);
  }
  override remainingMs(): number {
    this.calls++;
    return this.calls > this.plentyCalls ? this.leftMs : 3_600_000;
  }
}

describe('fault class 4: the deadline expires at random points', () => {
  const S = 'fault_deadline';
  const LOG: TableName = { schema: 'fault_deadline_log', table: 'command_log' };
  const tally = new FaultTally('deadline');
  const PER_SEED = 3;
  let exactCounts = 0;
  let stopped = 0;

  beforeAll(async () => {
    await freshSchema(admin, S);
    await admin.query(`DROP DATABASE IF EXISTS \`${LOG.schema}\``);
    await createTemplates(admin, S, 2000);
  });

  /** cleanup-data with two rules (a purge, then an archive), both under the same budget. */
  function config(walks: readonly [Walk, Walk]): DbMaintConfig {
    return testConfig(
      [S],
      {
        targets: [
          testTarget([S], {
            cleanupRules: [
              { table: 'purged', dateColumn: 'created_at', retentionDays: 30, action: 'delete', walk: walks[0] },
              { table: 'archived', dateColumn: 'created_at', retentionDays: 30, action: 'archive', walk: walks[1] },
            ],
          }),
        ],
        purge: { initialChunkRows: 100, minChunkRows: 100, maxChunkRows: 100 },
      },
      LOG.schema,
    );
  }

  async function deadlineIteration(seed: number, n: number): Promise<void> {
    const rng = iterationRng(seed, 'deadline', n);
    const keyTypes = rng.pick<readonly [KeyType, KeyType]>([
      ['int', 'char'],
      ['char', 'int'],
    ]);
    const walks: [Walk, Walk] = [rng.pick<Walk>(['auto', 'date-index']), rng.pick<Walk>(['auto', 'primary-key'])];
    // Two rules of 14-20 chunks each: 35-50 looks at the deadline in a full run.
    const plenty = rng.int(0, 45);
    // Under 1 s left: no time to count what remains. 1.5 s: too little for a chunk, enough to count.
    const leftMs = rng.pick([0, 500, 1_500, 1_500]);
    const where = `seed ${seed} deadline ${n} (${keyTypes.join('/')} walks ${walks.join('/')}; ${leftMs} ms left after ${plenty} looks)`;
    const now = new Date();
    const fx = [
      await fixture(admin, S, 'purged', keyTypes[0], 'delete', walks[0], now),
      await fixture(admin, S, 'archived', keyTypes[1], 'archive', walks[1], now),
    ];
    const before = await Promise.all(fx.map((f) => snapshotRows(admin, f.spec)));
    const cfg = config(walks);
    const env = (deadline: Deadline, metrics: MetricsPublisher): TaskEnvironment => ({
      config: cfg,
      credentials: new UrlCredentialSource(serverUrl()),
      metrics,
      log: silentLog,
      deadline,
      now: () => now,
    });

    const m1 = capturingMetrics();
    const first = await runTask('cleanup-data', {}, env(new DroppingDeadline(plenty, leftMs), m1));
    const rules = (first.result as RetentionResult).rules;
    const firstOpen = rules.findIndex((r) => r.status !== 'completed');
    expect(rules.map((r) => r.status).every((st) => st === 'completed' || st === 'stopped-at-deadline' || st === 'not-started'), where).toBe(true);
    // Once a rule stopped, later rules did not start.
    if (firstOpen >= 0) expect(rules.slice(firstOpen + 1).map((r) => r.status), where).toEqual(rules.slice(firstOpen + 1).map(() => 'not-started'));
    expect(first.status, where).toBe(firstOpen >= 0 ? 'stopped-at-deadline' : 'succeeded');
    expect(m1.points.get('*:StoppedAtDeadline'), where).toBe(firstOpen >= 0 ? 1 : 0);
    expect(m1.points.get('*:TaskFailed'), where).toBe(0);
    if (firstOpen >= 0) stopped++;
    for (const [i, f] of fx.entries()) {
      const r = rules[i]!;
      const run: LoggedRun = { runId: first.runId!, result: r };
      const c = await checkRun(tally, `${where}, ${f.source.table} ${r.status}`, admin, f, before[i]!, run, LOG);
      expect.soft(c.violations, where).toEqual([]);
      // A clean stop: no chunk failed on the way.
      expect((await chunkLog(admin, LOG, first.runId!, f.source.table)).filter((l) => l.errorNumber !== null || l.errorMessage !== null), where).toEqual([]);
      if (r.status === 'completed') expect([r.rowsRemaining, c.stillMatching], where).toEqual([0, 0]);
      if (r.status === 'not-started') expect(c.removed, where).toBe(0);
      if (r.status === 'stopped-at-deadline') {
        // Counted exactly when there was time to count (1 s), else not claimed.
        if (r.rowsRemaining !== null) {
          expect(r.rowsRemaining, where).toBe(c.stillMatching);
          exactCounts++;
        }
        if (leftMs >= 1_000 && r.chunks > 0) expect(r.rowsRemaining, where).toBe(c.stillMatching);
        expect(c.stillMatching, where).toBeGreaterThan(0);
      }
    }

    // The next run, with time, finishes both rules from the data.
    const mid = await Promise.all(fx.map((f) => snapshotRows(admin, f.spec)));
    const next = await runTask('cleanup-data', {}, env(Deadline.unlimited(), capturingMetrics()));
    expect(next.status, where).toBe('succeeded');
    const nextRules = (next.result as RetentionResult).rules;
    for (const [i, f] of fx.entries()) {
      expect(nextRules[i], where).toMatchObject({ status: 'completed', rowsRemaining: 0 });
      const c = await checkRun(tally, `${where}, next run ${f.source.table}`, admin, f, mid[i]!, { runId: next.runId!, result: nextRules[i]! }, LOG);
      expect.soft(c.violations, where).toEqual([]);
      expect(c.stillMatching, where).toBe(0);
      const whole = await checkConservation(admin, f.spec, before[i]!);
      expect.soft(tally.record(`${where}, both runs ${f.source.table}`, { violations: whole.violations }), where).toEqual([]);
      expect(whole.removed, where).toBe(before[i]!.matching.size);
    }
    tally.iteration();
  }

  it.each(SEEDS.seeds.map((seed) => [seed] as const))('seed %i: stop at the deadline, clean; the next run completes', async (seed) => {
    for (let n = 0; n < PER_SEED; n++) await deadlineIteration(seed, n);
  });

  it('summary', () => {
    console.log(tally.line());
    expect(tally.iterations).toBe(SEEDS.seeds.length * PER_SEED);
    expect(tally.violations).toEqual([]);
    // The budget did run out in the middle of rules, and remaining rows were reported exactly at least once.
    expect(stopped).toBeGreaterThan(0);
    expect(exactCounts).toBeGreaterThan(0);
  });
});

// ---------------------------------------------------------------------------------------------------------------
describe('fault class 5: a metadata lock held by another session during optimize / rebuild', () => {
  const S = 'fault_mdl';
  const LOG_SCHEMA = 'fault_mdl_log';
  const tally = new FaultTally('metadata-lock');
  const items: TableName = { schema: S, table: 'items' };
  let srv: PrivateServer;
  let conn: mysql.Connection;

  beforeAll(async () => {
    srv = await ownServer();
    conn = await adminConnection(srv.url);
    await freshSchema(conn, S);
    await conn.query(`DROP DATABASE IF EXISTS \`${LOG_SCHEMA}\``);
    await conn.query(`USE \`${S}\``);
    await conn.query('CREATE TABLE items (id INT AUTO_INCREMENT PRIMARY KEY, k INT NOT NULL, pad VARCHAR(100) NOT NULL, KEY ix_k (k)) ENGINE=InnoDB');
    await conn.query("INSERT INTO items (k, pad) SELECT seq % 977, REPEAT('x', 100) FROM seq_1_to_20000");
    await conn.query('DELETE FROM items WHERE id % 3 = 0');
  });
  afterAll(async () => {
    await conn?.end().catch(() => undefined);
  });

  function env(metrics: MetricsPublisher): TaskEnvironment {
    return {
      config: testConfig([S], { optimize: { lockWaitTimeoutSeconds: 1 } }, LOG_SCHEMA),
      credentials: new UrlCredentialSource(srv.url),
      metrics,
      log: silentLog,
      deadline: Deadline.unlimited(),
    };
  }

  function fingerprintViolations(what: string, a: TableFingerprint, b: TableFingerprint, rebuilt: boolean): string[] {
    const out: string[] = [];
    if (a.definition !== b.definition) out.push(`${what}: definition changed:\n${a.definition}\n→\n${b.definition}`);
    if (a.rows !== b.rows) out.push(`${what}: ${a.rows} rows → ${b.rows}`);
    if (a.checksum !== b.checksum) out.push(`${what}: checksum ${a.checksum} → ${b.checksum}`);
    if (!rebuilt && a.tableId !== b.tableId) out.push(`${what}: rebuilt although reported busy (table id ${a.tableId} → ${b.tableId})`);
    if (rebuilt && a.tableId === b.tableId) out.push(`${what}: reported rebuilt but the table id did not change`);
    return out;
  }

  it.each([
    ['rebuild-indexes', 'transaction'],
    ['rebuild-indexes', 'lock-tables'],
    ['optimize-tables', 'transaction'],
    ['optimize-tables', 'lock-tables'],
  ] as const)('%s while %s holds the table: busy, unchanged, nobody left queued; rebuilt once released', async (task, holderKind) => {
    const where = `${task} / ${holderKind}`;
    const payload = task === 'rebuild-indexes' ? { tables: ['items'] } : { tables: ['items'], force: true };
    const before = await tableFingerprint(conn, items);
    const holder = await adminConnection(srv.url);
    const reader = await adminConnection(srv.url);
    const metrics = capturingMetrics();
    try {
      if (holderKind === 'transaction') {
        await holder.query('START TRANSACTION');
        await holder.query(`SELECT id FROM \`${S}\`.items LIMIT 1`);
      } else {
        await holder.query(`LOCK TABLES \`${S}\`.items READ`);
      }
      const run = runTask(task, payload, env(metrics));
      expect(await waitForMetadataLockWait(conn, '%ALTER TABLE%items%'), `${where}: the ALTER waits for the lock`).toBe(true);
      // An application read issued behind the waiting ALTER.
      const read = reader.query<mysql.RowDataPacket[]>(`SELECT COUNT(*) AS n FROM \`${S}\`.items`);
      const out = await run;
      const t = (out.result as RebuildResult).tables[0]!;
      expect(out.status, where).toBe('succeeded');
      expect(t, where).toMatchObject({ table: 'items', action: 'skipped', busy: true });
      expect(t.detail, where).toMatch(/lock_wait_timeout/);
      expect(metrics.points.get('*:TablesBusy'), where).toBe(1);
      expect(metrics.points.get('*:TaskFailed'), where).toBe(0);
      // The read completed while the holder still holds the table: it was not left queued behind the ALTER.
      const [[n]] = await read;
      expect(Number(n!['n']), where).toBe(before.rows);
      if (holderKind === 'transaction') {
        const [trx] = await conn.query<mysql.RowDataPacket[]>('SELECT 1 FROM information_schema.INNODB_TRX WHERE trx_mysql_thread_id = ?', [holder.threadId]);
        expect(trx.length, `${where}: the holder's transaction is still open`).toBe(1);
      } else {
        const [open] = await conn.query<mysql.RowDataPacket[]>(`SHOW OPEN TABLES FROM \`${S}\` WHERE \`Table\` = 'items' AND In_use > 0`);
        expect(open.length, `${where}: the holder still has the table locked`).toBe(1);
      }
      // The run log says what happened: the REBUILD gave up with 1205.
      const [cmds] = await conn.query<mysql.RowDataPacket[]>(
        `SELECT command_type AS type, error_number AS err, ended_at IS NOT NULL AS ended FROM \`${LOG_SCHEMA}\`.command_log WHERE run_id = ? AND command_type = 'REBUILD'`,
        [out.runId],
      );
      expect(cmds.map((c) => [c['err'], Number(c['ended'])]), where).toEqual([[1205, 1]]);
      const after = await tableFingerprint(conn, items);
      expect.soft(tally.record(where, { violations: fingerprintViolations(`${where} while held`, before, after, false), rowsChecked: after.rows }), where).toEqual([]);
    } finally {
      await holder.query(holderKind === 'transaction' ? 'ROLLBACK' : 'UNLOCK TABLES').catch(() => undefined);
      await holder.end();
      await reader.end();
    }
    // Released: the same task rebuilds it; same rows, same definition.
    const again = await runTask(task, payload, env(capturingMetrics()));
    expect((again.result as RebuildResult).tables[0], where).toMatchObject({ table: 'items', action: 'rebuilt' });
    const rebuilt = await tableFingerprint(conn, items);
    expect.soft(tally.record(`${where}, rebuilt`, { violations: fingerprintViolations(`${where} rebuilt`, before, rebuilt, true), rowsChecked: rebuilt.rows }), where).toEqual([]);
    tally.iteration();
  });

  it('summary', () => {
    console.log(tally.line());
    expect(tally.iterations).toBe(4);
    expect(tally.violations).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------------------
describe('fault class 6: failing dependencies (SES, Secrets Manager, the network, the password)', () => {
  const S = 'fault_task';
  const LOG_SCHEMA = 'fault_task_log';
  const ARN = 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:fault-db-AbCdEf';
  const tally = new FaultTally('external-failures');
  const sessions: TableName = { schema: S, table: 'sessions' };
  /** The password every broken secret carries: it must appear in no error, log line or metric. */
  const PASSWORD = `Pw-${Date.now().toString(36)}-Zq9!x`;
  const real = () => credentialsFromUrl(serverUrl());
  const sm = mockClient(SecretsManagerClient);

  function config(): DbMaintConfig {
    return testConfig(
      [S],
      {
        targets: [
          {
            name: 'test',
            secretArn: ARN,
            schemas: [S],
            cleanupRules: [{ table: 'sessions', dateColumn: 'created_at', retentionDays: 30, action: 'delete' }],
          },
        ],
        // The Lambda's settings, with a short connect timeout for the unroutable address.
        session: { lockWaitTimeoutSeconds: 5, innodbLockWaitTimeoutSeconds: 5, connectTimeoutSeconds: 1 },
        reports: { from: 'dbmaint@example.com', to: ['dba@example.com'] },
      },
      LOG_SCHEMA,
    );
  }

  /** What the Lambda handler builds: Secrets Manager credentials, EMF metrics, JSON logs, the context's deadline. */
  function lambdaEnvironment(credentials: CredentialSource, extra: Partial<TaskEnvironment> = {}) {
    const logLines: string[] = [];
    const metrics = capturingMetrics();
    const context = lambdaContext('dbmaint-cleanup-data', 900_000);
    const env: TaskEnvironment = {
      config: config(),
      credentials,
      metrics,
      log: jsonLineLog((line) => logLines.push(line)),
      deadline: Deadline.fromRemaining(context.getRemainingTimeInMillis(), DEADLINE_SAFETY_MS),
      ...extra,
    };
    return { env, logLines, metrics };
  }

  /** Rows in every table of the run-log schema (command log, task runs, alert state), counted exactly. */
  async function runLogRows(): Promise<number> {
    let n = 0;
    const [tables] = await admin.query<mysql.RowDataPacket[]>('SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?', [LOG_SCHEMA]);
    for (const t of tables) {
      const [[c]] = await admin.query<mysql.RowDataPacket[]>(`SELECT COUNT(*) AS n FROM \`${LOG_SCHEMA}\`.\`${String(t['t'])}\``);
      n += Number(c!['n']);
    }
    return n;
  }

  beforeAll(async () => {
    await freshSchema(admin, S);
    await admin.query(`DROP DATABASE IF EXISTS \`${LOG_SCHEMA}\``);
    await admin.query(`USE \`${S}\``);
    await admin.query('CREATE TABLE sessions (k CHAR(40) PRIMARY KEY, data TEXT NOT NULL, created_at DATETIME NOT NULL, KEY ix_created (created_at)) ENGINE=InnoDB');
    await admin.query("INSERT INTO sessions SELECT SHA1(seq), 'x', UTC_TIMESTAMP() - INTERVAL (seq % 60) DAY FROM seq_1_to_2000");
    // A successful dry run would write nothing; create the run log the way a first real run does.
    await admin.query(`CREATE DATABASE \`${LOG_SCHEMA}\``);
    for (const ddl of commandLogDdl(LOG_SCHEMA, 'command_log')) await admin.query(ddl);
  });
  afterAll(() => {
    sm.restore();
  });

  const secret = (over: Record<string, unknown>) => JSON.stringify({ engine: 'mariadb', host: real().host, port: real().port, username: real().user, password: PASSWORD, ...over });
  const CASES: readonly { name: string; arrange: () => Promise<void>; message: RegExp; secretReads?: number }[] = [
    {
      name: 'secret unreadable: AccessDeniedException',
      arrange: async () => {
        sm.on(GetSecretValueCommand).rejects(Object.assign(new Error('User: arn:aws:sts::123456789012:assumed-role/dbmaint/fn is not authorized to perform: secretsmanager:GetSecretValue'), { name: 'AccessDeniedException' }));
      },
      message: new RegExp(`^cannot read secret ${ARN}: AccessDeniedException: .*not authorized`),
    },
    {
      name: 'secret unreadable: ResourceNotFoundException',
      arrange: async () => {
        sm.on(GetSecretValueCommand).rejects(Object.assign(new Error("Secrets Manager can't find the specified secret."), { name: 'ResourceNotFoundException' }));
      },
      message: new RegExp(`^cannot read secret ${ARN}: ResourceNotFoundException: `),
    },
    {
      name: 'secret malformed: not JSON',
      arrange: async () => {
        sm.on(GetSecretValueCommand).resolves({ SecretString: `host=${real().host} user=${real().user} password=${PASSWORD}` });
      },
      message: new RegExp(`^secret ${ARN} is not JSON`),
    },
    {
      name: 'secret malformed: no password',
      arrange: async () => {
        sm.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ host: real().host, port: real().port, username: real().user, pwd: PASSWORD }) });
      },
      message: new RegExp(`^secret ${ARN} is malformed: missing or invalid field\\(s\\) password$`),
    },
    {
      name: 'database unreachable: connection refused',
      arrange: async () => {
        sm.on(GetSecretValueCommand).resolves({ SecretString: secret({ host: '127.0.0.1', port: await freePort() }) });
      },
      message: /^connection refused by 127\.0\.0\.1:\d+: is the server running and the port right\?$/,
    },
    {
      name: 'database unreachable: connect timeout (non-routable address)',
      arrange: async () => {
        sm.on(GetSecretValueCommand).resolves({ SecretString: secret({ host: '10.255.255.1', port: 3306 }) });
      },
      message: /^connect timeout to 10\.255\.255\.1:3306: check the security group/,
    },
    {
      name: 'database unreachable: DNS failure',
      arrange: async () => {
        sm.on(GetSecretValueCommand).resolves({ SecretString: secret({ host: 'db.invalid', port: 3306 }) });
      },
      message: /^host name not found for db\.invalid:3306: check the host in the secret/,
    },
    {
      name: 'wrong password (re-read once, as after a rotation, then refused)',
      arrange: async () => {
        sm.on(GetSecretValueCommand).resolves({ SecretString: secret({}) });
      },
      message: /^access denied connecting to 127\.0\.0\.1:\d+: check the user and password/,
      secretReads: 2,
    },
  ];

  it.each(CASES.map((c) => [c.name, c] as const))('%s: one clear error, TaskFailed=1, nothing touched', async (name, c) => {
    sm.reset();
    await c.arrange();
    const before = await tableFingerprint(admin, sessions);
    const logRowsBefore = await runLogRows();
    const { env, logLines, metrics } = lambdaEnvironment(new SecretsManagerCredentialSource(new SecretsManagerClient({ region: 'eu-central-1' })));
    const err = await runTask('cleanup-data', {}, env).then(
      () => undefined,
      (e: unknown) => e as Error & { taskResult?: TaskRunResult },
    );
    expect(err, name).toBeInstanceOf(Error);
    expect(err!.message, name).toMatch(c.message);
    expect(err!.taskResult, name).toMatchObject({ status: 'failed', error: err!.message, runId: null });
    expect(sm.commandCalls(GetSecretValueCommand).map((call) => call.args[0].input), name).toEqual(Array(c.secretReads ?? 1).fill({ SecretId: ARN }));
    // Exactly one error, and it is the task's.
    const errors = logLines.map((l) => JSON.parse(l) as { level: string; message: string; error?: string }).filter((l) => l.level === 'ERROR');
    expect(errors.map((e) => [e.message, e.error]), name).toEqual([['task failed', err!.message]]);
    // TaskFailed=1 published, in one EMF document.
    expect(metrics.docs, name).toHaveLength(1);
    expect(JSON.parse(metrics.docs[0]!), name).toMatchObject({ TaskFailed: 1, TaskSucceeded: 0, Task: 'cleanup-data', Database: 'test' });
    // The password is nowhere: not in the error, the logs or the metrics.
    for (const text of [err!.message, String(err!.stack), JSON.stringify(err!.taskResult), ...logLines, ...metrics.docs]) expect(text, name).not.toContain(PASSWORD);
    // No partial damage: the table as it was, nothing in the run log.
    const after = await tableFingerprint(admin, sessions);
    const violations: string[] = [];
    if (JSON.stringify(after) !== JSON.stringify(before)) violations.push(`table changed: ${JSON.stringify(before)} → ${JSON.stringify(after)}`);
    const logRowsAfter = await runLogRows();
    if (logRowsAfter !== logRowsBefore) violations.push(`run log grew from ${logRowsBefore} to ${logRowsAfter} rows`);
    expect.soft(tally.record(name, { violations, rowsChecked: after.rows }), name).toEqual([]);
    tally.iteration();
  });

  it('SES failing (emulator stopped): ReportSendFailed counted, the task succeeds', async () => {
    const dead = await startSesLocal();
    await dead.stop();
    const before = await tableFingerprint(admin, sessions);
    const { env, logLines, metrics } = lambdaEnvironment(new UrlCredentialSource(serverUrl()), {
      mailer: new SesMailSender(localSesClient(dead.endpoint, { maxAttempts: 1 })),
    });
    const out = await runTask('daily-report', {}, env);
    expect(out.status).toBe('succeeded');
    const r = out.result as { sent: boolean; error?: string };
    expect(r.sent).toBe(false);
    expect(r.error).toMatch(/ECONNREFUSED|connect/i);
    expect(metrics.points.get('*:ReportSendFailed')).toBe(1);
    expect(metrics.points.get('*:ReportsSent')).toBe(0);
    expect(metrics.points.get('*:TaskFailed')).toBe(0);
    expect(metrics.points.get('*:TaskSucceeded')).toBe(1);
    // One error logged: the mail not sent (not a task failure).
    const errors = logLines.map((l) => JSON.parse(l) as { level: string; message: string }).filter((l) => l.level === 'ERROR');
    expect(errors.map((e) => e.message)).toEqual(['report mail not sent']);
    const after = await tableFingerprint(admin, sessions);
    const violations = JSON.stringify(after) === JSON.stringify(before) ? [] : [`table changed by a report run`];
    expect.soft(tally.record('SES failing', { violations, rowsChecked: after.rows })).toEqual([]);
    tally.iteration();
  });

  it('summary', () => {
    console.log(tally.line());
    expect(tally.iterations).toBe(CASES.length + 1);
    expect(tally.violations).toEqual([]);
  });
});
