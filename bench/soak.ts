// `npm run bench:soak`: the daily routine on a 5M-row dataset under a concurrent OLTP load — foreground p99 before/during/after, nothing lost.
// `npm run bench:window` (--window): the same with purge.maxRowsPerRun at a tenth of the backlog, so that cleanup-data needs ten
// invocations and the maintenance window's loop (lib/routines/window.ts) must clear it in one routine execution.
import os from 'node:os';
import { parseArgs } from 'node:util';
import mysql from 'mysql2/promise';
import { runLocalRoutine } from '../bin/local-runner';
import { parseConfig } from '../lib/config/load';
import { credentialsFromUrl } from '../lib/db/credentials';
import { ensureMariaDb, startLocalMariaDb } from '../dev/mariadb-server';
import { LocalMailbox } from '../lib/reporting/mail/local-mailbox';
import { textTable } from '../lib/reporting/text-table';
import { silentLog } from '../lib/runtime/log';
import { startLoad, type LoadStats } from './foreground-load';
import { resultTarget, writeResult } from './result-file';

const { values: args } = parseArgs({
  options: {
    /** Rows of `events` and of `sessions` (default 3M + 2M = 5M). */
    events: { type: 'string', default: '3000000' },
    sessions: { type: 'string', default: '2000000' },
    /** Seconds of load alone before and after the routine. */
    quiet: { type: 'string', default: '30' },
    /** Connections per table (each one operation every 4 ms). */
    load: { type: 'string', default: '2' },
    /** Write the results to this file instead of `bench/scratch/`. */
    out: { type: 'string' },
    /** Write the results as the committed baseline in `bench/results/`, replacing the earlier one. */
    baseline: { type: 'boolean', default: false },
    /** Cap each cleanup invocation at a tenth of the backlog (bench:window). */
    window: { type: 'boolean', default: false },
  },
});
// Resolved before the dataset is loaded, so that conflicting flags fail at once.
const WINDOW = args.window === true;
const target = resultTarget({ stem: WINDOW ? 'window' : 'soak', out: args.out, baseline: args.baseline });
const EVENTS = Number(args.events);
const SESSIONS = Number(args.sessions);
const QUIET_MS = Number(args.quiet) * 1000;
const CONNECTIONS = Number(args.load);
const DB = 'bench';

function say(line: string): void {
  process.stdout.write(line + '\n');
}

async function fill(admin: mysql.Connection, sql: (from: number, to: number) => string, rows: number): Promise<void> {
  // Slices of 250k rows: the undo log stays small and the server stays responsive.
  for (let done = 0; done < rows; done += 250_000) await admin.query(sql(done, Math.min(rows, done + 250_000)));
}

type Phase = 'before' | 'during' | 'after';

async function phaseLoad(url: string, run: () => Promise<void>): Promise<Record<string, LoadStats>> {
  const loads = await Promise.all(
    (['events', 'sessions'] as const).map(async (table) => ({
      table,
      load: await startLoad({ url, table, rows: table === 'events' ? EVENTS : SESSIONS, connections: CONNECTIONS, intervalMs: 4, seed: 7 }),
    })),
  );
  await run();
  const out: Record<string, LoadStats> = {};
  for (const { table, load } of loads) out[table] = (await load.stop()).stats;
  return out;
}

async function main(): Promise<void> {
  ensureMariaDb(say);
  say('Starting MariaDB for the soak (buffer pool 3 GiB, innodb_flush_log_at_trx_commit=1)...');
  const server = await startLocalMariaDb({ bufferPoolMb: 3072, flushLogAtTrxCommit: 1, extraArgs: ['--innodb-log-file-size=1G'] });
  const creds = credentialsFromUrl(server.url);
  const admin = await mysql.createConnection({ host: creds.host, port: creds.port, user: creds.user, password: creds.password, timezone: 'Z' });
  try {
    const [[v]] = await admin.query<mysql.RowDataPacket[]>('SELECT VERSION() AS v');
    say(`MariaDB ${String(v!['v'])}; ${os.cpus().length} cores; ${(EVENTS + SESSIONS).toLocaleString('en')} rows`);
    await admin.query(`CREATE DATABASE ${DB}`);
    await admin.query(`USE ${DB}`);
    const t0 = Date.now();
    await admin.query(`CREATE TABLE events (id BIGINT AUTO_INCREMENT PRIMARY KEY, user_id INT NOT NULL, created_at DATETIME NOT NULL, payload VARBINARY(128) NOT NULL,
      KEY ix_created (created_at), KEY ix_user (user_id)) ENGINE=InnoDB`);
    await admin.query(`CREATE TABLE sessions (session_key CHAR(40) NOT NULL PRIMARY KEY, session_data TEXT NOT NULL, expire_date DATETIME(6) NOT NULL,
      KEY ix_expire (expire_date)) ENGINE=InnoDB`);
    // Half of each table is older than the 30-day retention: dates over 60 days.
    await fill(admin, (a, b) => `INSERT INTO events (user_id, created_at, payload)
      SELECT seq % 50000, UTC_TIMESTAMP() - INTERVAL 60 DAY + INTERVAL (seq * 5184000 DIV ${EVENTS}) SECOND, RANDOM_BYTES(128) FROM seq_1_to_${EVENTS} WHERE seq > ${a} AND seq <= ${b}`, EVENTS);
    await fill(admin, (a, b) => `INSERT INTO sessions SELECT SHA1(seq), TO_BASE64(RANDOM_BYTES(150)), UTC_TIMESTAMP() - INTERVAL (CRC32(seq) % 5184000) SECOND
      FROM seq_1_to_${SESSIONS} WHERE seq > ${a} AND seq <= ${b}`, SESSIONS);
    await admin.query('ANALYZE TABLE events, sessions');
    await admin.query('SET GLOBAL innodb_max_purge_lag_wait = 0');
    say(`built in ${((Date.now() - t0) / 1000).toFixed(0)} s`);

    // The backlog: rows older than the cutoff in both tables (what bench:window divides into ten invocations).
    const [[backlog]] = await admin.query<mysql.RowDataPacket[]>(
      `SELECT (SELECT COUNT(*) FROM events WHERE created_at < UTC_TIMESTAMP() - INTERVAL 30 DAY) + (SELECT COUNT(*) FROM sessions WHERE expire_date < UTC_TIMESTAMP() - INTERVAL 30 DAY) AS n`,
    );
    const perInvocation = Math.ceil(Number(backlog!['n']) / 10);
    if (WINDOW) say(`backlog ${Number(backlog!['n']).toLocaleString('en')} rows; purge.maxRowsPerRun ${perInvocation.toLocaleString('en')} (a tenth)`);
    const config = parseConfig({
      ...(WINDOW ? { purge: { maxRowsPerRun: perInvocation } } : {}),
      targets: [
        {
          name: 'soak',
          secretArn: 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:soak-AbCdEf',
          schemas: [DB],
          cleanupRules: [
            { table: 'events', dateColumn: 'created_at', retentionDays: 30, action: 'delete' },
            { table: 'sessions', dateColumn: 'expire_date', retentionDays: 30, action: 'archive' },
          ],
        },
      ],
      reports: { from: 'dbmaint@example.com', to: ['dba@example.com'] },
    });
    // What must hold afterwards: every old session in the archive exactly once, no old row left, nothing else touched.
    const [[pre]] = await admin.query<mysql.RowDataPacket[]>(
      `SELECT (SELECT COUNT(*) FROM events WHERE created_at < UTC_TIMESTAMP() - INTERVAL 30 DAY) AS oldEvents,
              (SELECT COUNT(*) FROM sessions WHERE expire_date < UTC_TIMESTAMP() - INTERVAL 30 DAY - INTERVAL 1 HOUR) AS oldSessions,
              (SELECT COUNT(*) FROM events WHERE created_at >= UTC_TIMESTAMP() - INTERVAL 30 DAY + INTERVAL 1 HOUR) AS youngEvents,
              (SELECT COUNT(*) FROM sessions WHERE expire_date >= UTC_TIMESTAMP() - INTERVAL 30 DAY + INTERVAL 1 HOUR) AS youngSessions`,
    );

    const phases: Partial<Record<Phase, Record<string, LoadStats>>> = {};
    const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
    say(`load alone for ${QUIET_MS / 1000} s...`);
    phases.before = await phaseLoad(server.url, () => sleep(QUIET_MS));
    say('daily-maintenance under the load...');
    let routine: Awaited<ReturnType<typeof runLocalRoutine>> | undefined;
    const r0 = Date.now();
    phases.during = await phaseLoad(server.url, async () => {
      routine = await runLocalRoutine({ routine: 'daily-maintenance', config, databaseUrl: server.url, log: silentLog, mailer: new LocalMailbox() });
    });
    const routineSeconds = (Date.now() - r0) / 1000;
    say(`load alone for ${QUIET_MS / 1000} s...`);
    phases.after = await phaseLoad(server.url, () => sleep(QUIET_MS));

    const [[post]] = await admin.query<mysql.RowDataPacket[]>(
      `SELECT (SELECT COUNT(*) FROM events WHERE created_at < UTC_TIMESTAMP() - INTERVAL 31 DAY) AS oldEvents,
              (SELECT COUNT(*) FROM sessions WHERE expire_date < UTC_TIMESTAMP() - INTERVAL 31 DAY) AS oldSessions,
              (SELECT COUNT(*) FROM sessions_archive) AS archived,
              (SELECT COUNT(*) FROM sessions_archive a JOIN sessions s USING (session_key)) AS inBoth,
              (SELECT COUNT(*) FROM events WHERE created_at >= UTC_TIMESTAMP() - INTERVAL 30 DAY + INTERVAL 1 HOUR) AS youngEventsLeft`,
    );
    const steps = routine!.routine.steps;
    const cleanup = steps.find((s) => s.task === 'cleanup-data')?.run?.result as { rowsDeleted: number; rowsArchived: number } | undefined;
    const processed = (cleanup?.rowsDeleted ?? 0) + (cleanup?.rowsArchived ?? 0);
    const checks = [
      ['no event older than the cutoff left', Number(post!['oldEvents']) === 0],
      ['no session older than the cutoff left', Number(post!['oldSessions']) === 0],
      ['every old session archived (archive ≥ old sessions at start)', Number(post!['archived']) >= Number(pre!['oldSessions'])],
      ['no session both in the source and the archive', Number(post!['inBoth']) === 0],
      ['no young event removed', Number(post!['youngEventsLeft']) >= Number(pre!['youngEvents'])],
      ['every step succeeded', steps.every((s) => s.status === 'succeeded' || s.status === 'skipped')],
      ...(WINDOW ? ([['cleanup-data needed at least ten invocations, all in this one routine execution', (steps.find((s) => s.task === 'cleanup-data')?.invocations ?? 0) >= 10]] as const) : []),
    ] as const;

    say('');
    say(textTable(['step', 'status', 'invocations', 'seconds'], steps.map((s) => [s.task, s.status, String(s.invocations ?? 1), (s.secondsSoFar ?? s.durationSeconds ?? 0).toFixed(1)])));
    // With several invocations the step's result is its last invocation's: the rows moved in all come from the tables.
    const moved = Number(pre!['oldEvents']) + Number(pre!['oldSessions']) - Number(post!['oldEvents']) - Number(post!['oldSessions']);
    say(
      WINDOW
        ? `\nroutine ${routineSeconds.toFixed(1)} s; cleanup-data: ${steps.find((s) => s.task === 'cleanup-data')?.invocations ?? 1} invocations, at least ${moved.toLocaleString('en')} rows moved (${Number(post!['archived']).toLocaleString('en')} sessions archived)\n`
        : `\nroutine ${routineSeconds.toFixed(1)} s; rows deleted ${(cleanup?.rowsDeleted ?? 0).toLocaleString('en')}, archived ${(cleanup?.rowsArchived ?? 0).toLocaleString('en')} (${processed.toLocaleString('en')} processed)\n`,
    );
    const rows: string[][] = [];
    for (const table of ['events', 'sessions']) {
      for (const phase of ['before', 'during', 'after'] as const) {
        const l = phases[phase]![table]!;
        rows.push([table, phase, l.ops.toLocaleString('en'), String(l.errors), l.p50.toFixed(1), l.p99.toFixed(1), l.max.toFixed(0)]);
      }
    }
    say(textTable(['table', 'phase', 'ops', 'errors', 'p50 ms', 'p99 ms', 'max ms'], rows));
    // Which step each of the slowest foreground operations fell in: a stall of reads too is a metadata lock, not a row lock.
    const windows = steps.flatMap((s) => (s.run ? [{ task: s.task, from: Date.parse(s.run.startedAt), to: Date.parse(s.run.startedAt) + s.run.durationSeconds * 1000 }] : []));
    const stepAt = (at: number) => windows.find((w) => at >= w.from && at <= w.to)?.task ?? 'between steps';
    say('\nslowest foreground operations during the routine (the step they fell in):');
    for (const table of ['events', 'sessions']) {
      say(`  ${table}: ${phases.during![table]!.slowest.slice(0, 6).map((x) => `${x.kind} ${x.ms.toFixed(0)} ms (${stepAt(x.at)})`).join(', ')}`);
    }
    // The target: the foreground p99 while maintenance runs within 1.5× of the load alone (before), per table.
    const p99Ratio = Object.fromEntries(['events', 'sessions'].map((t) => [t, Math.round((phases.during![t]!.p99 / phases.before![t]!.p99) * 100) / 100]));
    say(`\nforeground p99 during / before: ${Object.entries(p99Ratio).map(([t, r]) => `${t} ${r}×`).join(', ')} (target ≤ 1.5×: ${Object.values(p99Ratio).every((r) => r <= 1.5) ? 'met' : 'NOT met'})`);
    say('');
    for (const [what, ok] of checks) say(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
    const result = {
      date: new Date().toISOString(),
      server: String(v!['v']),
      cores: os.cpus().length,
      rows: EVENTS + SESSIONS,
      routineSeconds,
      steps: steps.map((s) => ({ task: s.task, status: s.status, ...(s.run ? { startedAt: s.run.startedAt } : {}), seconds: s.secondsSoFar ?? s.durationSeconds, invocations: s.invocations ?? 1 })),
      ...(WINDOW ? { maxRowsPerRun: perInvocation } : {}),
      p99Ratio,
      rowsDeleted: cleanup?.rowsDeleted ?? 0,
      rowsArchived: cleanup?.rowsArchived ?? 0,
      load: phases,
      before: pre,
      after: post,
      checks: checks.map(([what, ok]) => ({ what, ok })),
    };
    writeResult(target, JSON.stringify(result, null, 2));
    say(`results written to ${target.file}`);
    if (checks.some(([, ok]) => !ok)) process.exitCode = 1;
  } finally {
    await admin.end();
    await server.stop();
  }
}

main().catch((err: Error) => {
  process.stderr.write(`soak failed: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
