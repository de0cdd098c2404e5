// `npm run bench:stats`: seconds per 1,000 tables for collect-statistics at several table counts, side by side with MySQLTuner-style and sys-schema catalogue reads.
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import mysql from 'mysql2/promise';
import { statisticsSettingsSchema } from '../lib/config/schema';
import { openSession, type DbSession } from '../lib/db/connection';
import { credentialsFromUrl } from '../lib/db/credentials';
import { ensureMariaDb, startLocalMariaDb } from '../dev/mariadb-server';
import { textTable } from '../lib/reporting/text-table';
import { Deadline } from '../lib/runtime/deadline';
import { silentLog } from '../lib/runtime/log';
import { collectStatistics } from '../lib/stats/collect';
import { readTableSizes } from '../lib/stats/sizes';
import { resultTarget, writeResult } from './result-file';

const { values: args } = parseArgs({
  options: {
    /** Table counts, measured in turn, each on its own server: `--tables 2000,20000`. */
    tables: { type: 'string', default: '2000,20000' },
    /** The tables are spread evenly over this many schemas. */
    schemas: { type: 'string', default: '1' },
    /** Timed runs per contender and size, after one untimed warm-up run; the report shows the median. */
    repeat: { type: 'string', default: '3' },
    /** Write the results to this file instead of `bench/scratch/`. */
    out: { type: 'string' },
    /** Write the results as the committed baseline in `bench/results/`, replacing the earlier one. */
    baseline: { type: 'boolean', default: false },
    'rows-per-table': { type: 'string', default: '20' },
    /** Keep each size's datadir here and reuse it on the next run (creating 20,000 tables takes minutes). */
    'datadir-cache': { type: 'string' },
    /** Diagnosis only, e.g. `--server-arg=--table-definition-cache=25000`: the result file and report say the settings are not RDS-like. */
    'server-arg': { type: 'string', multiple: true },
    /** Also measure each size with table_definition_cache above its table count (not RDS-like): is the growth dbmaint's or the server's? */
    'definition-cache-diagnosis': { type: 'boolean', default: false },
  },
});

function intOption(name: string, value: string | undefined, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min} (got ${String(value)})`);
  return n;
}

function sizesOption(value: string | undefined): number[] {
  const sizes = String(value).split(',').map((s) => intOption('tables', s.trim(), 1));
  if (new Set(sizes).size !== sizes.length) throw new Error(`--tables lists a size twice (${String(value)})`);
  return sizes;
}

const LAMBDA_LIMIT_SECONDS = 900;
/** collect-statistics' function memory (lib/catalogue.ts). */
const LAMBDA_MEMORY_MB = 512;
/** The per-1,000-table cost at the largest size may be at most this times the cost at the smallest. */
const LINEAR_TARGET = 1.25;
const HISTORY_SCHEMA = 'dbmaint';
// Below the table count on purpose, as on a small RDS instance: the catalogue reads must reopen tables.
const RDS_LIKE_ARGS = ['--table-open-cache=2000', '--table-definition-cache=2000'];
const SERVER_ARGS = [...RDS_LIKE_ARGS, ...(args['server-arg'] ?? [])];
const SESSION = { lockWaitTimeoutSeconds: 5, innodbLockWaitTimeoutSeconds: 5, connectTimeoutSeconds: 5 };
const DDL_BATCH = 200;
const STATS_WAIT_MS = 60_000;
const RSS_SAMPLE_MS = 10;
const COMPLETE_MARKER = '.dbmaint-bench-complete';
const MB = 1024 * 1024;

/** Table shapes, used in turn: the catalogue cost depends on the columns and indexes per table. */
interface Shape {
  readonly ddl: (table: string) => string;
  readonly fill: (table: string, rows: number) => string;
  readonly autoIncrement: boolean;
}

const SHAPES: readonly Shape[] = [
  {
    ddl: (t) => `CREATE TABLE ${t} (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(64) NOT NULL, created_at DATETIME NOT NULL, KEY ix_created (created_at)) ENGINE=InnoDB`,
    fill: (t, k) => `INSERT INTO ${t} (name, created_at) SELECT CONCAT('name-', seq), '2024-01-01' + INTERVAL seq HOUR FROM seq_1_to_${k}`,
    autoIncrement: true,
  },
  {
    ddl: (t) => `CREATE TABLE ${t} (id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, payload VARBINARY(200) NOT NULL, amount DECIMAL(12,2) NOT NULL) ENGINE=InnoDB`,
    fill: (t, k) => `INSERT INTO ${t} (payload, amount) SELECT RANDOM_BYTES(64), seq * 1.25 FROM seq_1_to_${k}`,
    autoIncrement: true,
  },
  {
    ddl: (t) => `CREATE TABLE ${t} (tenant_id INT NOT NULL, item_id INT NOT NULL, qty SMALLINT NOT NULL, note VARCHAR(100) NULL, PRIMARY KEY (tenant_id, item_id), KEY ix_item (item_id)) ENGINE=InnoDB`,
    fill: (t, k) => `INSERT INTO ${t} (tenant_id, item_id, qty, note) SELECT seq % 4, seq, seq % 100, NULL FROM seq_1_to_${k}`,
    autoIncrement: false,
  },
];

interface Layout {
  readonly schemas: readonly string[];
  readonly tables: readonly { readonly schema: string; readonly table: string; readonly shape: Shape }[];
}

function layout(tableCount: number, schemaCount: number): Layout {
  const schemas = Array.from({ length: schemaCount }, (_, i) => `bench_stats_${i + 1}`);
  const tables: Layout['tables'][number][] = [];
  for (let i = 0; i < tableCount; i++) {
    tables.push({ schema: schemas[i % schemaCount]!, table: `t${String(i + 1).padStart(5, '0')}`, shape: SHAPES[i % SHAPES.length]! });
  }
  return { schemas, tables };
}

/** One contender: `run` does the work on a fresh session and returns how many tables its output covers. */
interface Contender {
  readonly name: string;
  readonly expected: number;
  readonly expectedWhat: string;
  run(db: DbSession): Promise<number>;
}

interface Run {
  readonly seconds: number;
  /** CPU seconds of this process and of the server during the run: less at the mercy of other load than the wall clock. */
  readonly clientCpuSeconds: number;
  readonly serverCpuSeconds: number;
  /** This process's RSS at the start of the run (after a garbage collection when available). */
  readonly baseRssMb: number;
  /** Peak of this process's RSS and V8 heap during the run, sampled every RSS_SAMPLE_MS. */
  readonly peakRssMb: number;
  readonly peakHeapMb: number;
  readonly covered: number;
}

interface Outcome {
  readonly contender: string;
  readonly runs: readonly Run[];
  readonly medianSeconds: number;
  readonly secondsPer1000Tables: number;
  readonly medianCpuSeconds: number;
  readonly cpuSecondsPer1000Tables: number;
  /** From the memory run when there is one (collect-statistics and readTableSizes, after the timed ones), else the timed runs' maximum. */
  readonly peakRssMb: number;
  readonly peakHeapMb: number;
  readonly memoryRun?: Run;
  readonly ratioVsTuner: number | null;
  readonly expected: number;
  readonly ok: boolean;
  readonly check: string;
}

interface SizeResult {
  readonly tables: number;
  /** 'rds-like', or the diagnosis's larger table_definition_cache. */
  readonly config: string;
  readonly serverArgs: readonly string[];
  readonly info: Record<string, unknown>;
  readonly outcomes: readonly Outcome[];
  /** process.resourceUsage().maxRSS after this size (the process's peak so far, all sizes before included). */
  readonly maxRssMbSoFar: number;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function say(line: string): void {
  process.stdout.write(line + '\n');
}

const seconds = (ms: number) => (ms / 1000).toFixed(1);

const CLOCK_TICKS = (() => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const n = Number(r.stdout?.trim());
  return Number.isInteger(n) && n > 0 ? n : 100;
})();

/** User + system CPU seconds of a process, from /proc (Linux); NaN elsewhere. */
function processCpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}

/**
 * With `--expose-gc` (the npm script passes it) a memory run starts from a collected heap, so its peak is its own and
 * not the garbage of the runs before. Timed runs never collect first: a shrunk heap makes the run after it slower.
 */
const collectGarbage = (globalThis as { gc?: () => void }).gc;

async function timed(pid: number, fn: () => Promise<number>, collectFirst = false): Promise<Run> {
  if (collectFirst) collectGarbage?.();
  const base = process.memoryUsage();
  let peakRss = base.rss;
  let peakHeap = base.heapUsed;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
  }, RSS_SAMPLE_MS);
  const cpu0 = process.cpuUsage();
  const server0 = processCpuSeconds(pid);
  const start = performance.now();
  try {
    const covered = await fn();
    const s = (performance.now() - start) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const m = process.memoryUsage();
    return {
      seconds: s,
      clientCpuSeconds: (cpu.user + cpu.system) / 1e6,
      serverCpuSeconds: processCpuSeconds(pid) - server0,
      baseRssMb: base.rss / MB,
      peakRssMb: Math.max(peakRss, m.rss) / MB,
      peakHeapMb: Math.max(peakHeap, m.heapUsed) / MB,
      covered,
    };
  } finally {
    clearInterval(sampler);
  }
}

async function createTables(admin: mysql.Connection, plan: Layout, K: number): Promise<{ createSeconds: number; fillSeconds: number }> {
  let t0 = Date.now();
  for (const schema of plan.schemas) await admin.query(`CREATE DATABASE ${schema}`);
  for (const schema of plan.schemas) {
    const mine = plan.tables.filter((t) => t.schema === schema);
    for (let i = 0; i < mine.length; i += DDL_BATCH) {
      await admin.query(mine.slice(i, i + DDL_BATCH).map((t) => `${t.shape.ddl(`${schema}.${t.table}`)};`).join('\n'));
    }
  }
  const createMs = Date.now() - t0;
  say(`  created ${plan.tables.length.toLocaleString('en')} tables in ${seconds(createMs)} s`);
  t0 = Date.now();
  if (K > 0) {
    for (const schema of plan.schemas) {
      // MariaDB's seq_1_to_K tables exist only in the current schema.
      await admin.query(`USE ${schema}`);
      const mine = plan.tables.filter((t) => t.schema === schema);
      for (let i = 0; i < mine.length; i += DDL_BATCH) {
        await admin.query(mine.slice(i, i + DDL_BATCH).map((t) => `${t.shape.fill(t.table, K)};`).join('\n'));
      }
    }
  }
  const fillMs = Date.now() - t0;
  say(`  filled them (${K} rows each) in ${seconds(fillMs)} s`);
  return { createSeconds: createMs / 1000, fillSeconds: fillMs / 1000 };
}

/** One size: its tables (created, or reused from the cache), measured on a server per configuration. */
async function measureSize(N: number, S: number, R: number, K: number, cacheDir: string | undefined, diagnosis: boolean): Promise<SizeResult[]> {
  const cached = cacheDir !== undefined;
  // Without a cache the datadir is still the bench's own (not the server's temp dir): the diagnosis restarts on it.
  const datadir = cacheDir ? path.resolve(cacheDir, `stats-n${N}-s${S}-r${K}`) : path.join(mkdtempSync(path.join(os.tmpdir(), 'dbmaint-bench-stats-')), 'data');
  const reused = cached && existsSync(path.join(datadir, COMPLETE_MARKER));
  if (cached && !reused) rmSync(datadir, { recursive: true, force: true });
  const configs: { name: string; args: string[] }[] = [{ name: SERVER_ARGS.length === RDS_LIKE_ARGS.length ? 'rds-like' : 'with --server-arg', args: SERVER_ARGS }];
  if (diagnosis) configs.push({ name: 'table_definition_cache above the table count', args: [...SERVER_ARGS.filter((a) => !a.startsWith('--table-definition-cache=')), `--table-definition-cache=${Math.max(2000, N + 1000)}`] });
  const out: SizeResult[] = [];
  try {
    for (const [i, config] of configs.entries()) out.push(await measureOnServer(N, S, R, K, datadir, i === 0 ? (reused ? 'reuse' : 'create') : 'reuse', config));
  } finally {
    if (!cached) rmSync(path.dirname(datadir), { recursive: true, force: true });
  }
  return out;
}

async function measureOnServer(
  N: number,
  S: number,
  R: number,
  K: number,
  datadir: string,
  tables: 'create' | 'reuse',
  config: { readonly name: string; readonly args: readonly string[] },
): Promise<SizeResult> {
  const plan = layout(N, S);
  const autoTables = plan.tables.filter((t) => t.shape.autoIncrement).length;
  const reused = tables === 'reuse';
  // A private tmpdir: the server's on-disk temporary tables (information_schema results) must not share /tmp with anything.
  const tmpdir = mkdtempSync(path.join(os.tmpdir(), 'dbmaint-bench-stats-tmp-'));
  say(`\n== ${N.toLocaleString('en')} tables, ${config.name}: starting MariaDB (${config.args.join(' ')}) on ${datadir}${reused ? ' (tables reused)' : ''}...`);
  const server = await startLocalMariaDb({ extraArgs: [...config.args, `--tmpdir=${tmpdir}`], datadir });
  const pid = Number(readFileSync(path.join(server.dir, 'mysqld.pid'), 'utf8').trim());
  const creds = credentialsFromUrl(server.url);
  let admin: mysql.Connection | undefined;
  const outcomes: Outcome[] = [];
  let info: Record<string, unknown> = {};
  try {
    // multipleStatements only here, for the set-up: DDL in batches costs one round trip per batch.
    admin = await mysql.createConnection({ host: creds.host, port: creds.port, user: creds.user, password: creds.password, multipleStatements: true });
    const [[v]] = await admin.query<mysql.RowDataPacket[]>('SELECT VERSION() AS v, @@table_open_cache AS toc, @@table_definition_cache AS tdc, @@open_files_limit AS ofl, @@innodb_open_files AS iof');
    // The server may lower table_open_cache to fit open_files_limit: report what it runs with.
    info = {
      mariadb: String(v!['v']), cores: os.cpus().length, tables: N, schemas: S, rowsPerTable: K,
      tableOpenCache: Number(v!['toc']), tableDefinitionCache: Number(v!['tdc']), openFilesLimit: Number(v!['ofl']), innodbOpenFiles: Number(v!['iof']),
      datadirReused: reused,
    };
    say(`  MariaDB ${info['mariadb']}; ${info['cores']} cores; ${N.toLocaleString('en')} tables in ${S} schema(s), ${K} rows each; table_open_cache=${info['tableOpenCache']}, table_definition_cache=${info['tableDefinitionCache']}, innodb_open_files=${info['innodbOpenFiles']}, open_files_limit=${info['openFilesLimit']}`);

    if (reused) {
      const [[c]] = await admin.query<mysql.RowDataPacket[]>('SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA IN (?)', [plan.schemas]);
      if (Number(c!['n']) !== N) throw new Error(`${datadir} holds ${Number(c!['n'])} tables, not ${N}: delete it and run again`);
      // Every size and configuration starts with an empty history.
      await admin.query(`DROP DATABASE IF EXISTS ${HISTORY_SCHEMA}`);
      say(`  reused ${N.toLocaleString('en')} tables`);
    } else {
      info = { ...info, ...(await createTables(admin, plan, K)) };
      // No ANALYZE TABLE, as in production: wait for InnoDB's automatic recalculation to have written statistics instead.
      const t0 = Date.now();
      let withStats = 0;
      for (;;) {
        const [[c]] = await admin.query<mysql.RowDataPacket[]>('SELECT COUNT(*) AS n FROM mysql.innodb_table_stats WHERE database_name IN (?)', [plan.schemas]);
        withStats = Number(c!['n']);
        if (withStats >= N || Date.now() - t0 > STATS_WAIT_MS) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      say(`  persistent statistics present for ${withStats.toLocaleString('en')} of ${N.toLocaleString('en')} tables after ${seconds(Date.now() - t0)} s`);
      writeFileSync(path.join(datadir, COMPLETE_MARKER), JSON.stringify({ tables: N, schemas: S, rowsPerTable: K, createdAt: new Date().toISOString() }));
    }
    const [[st]] = await admin.query<mysql.RowDataPacket[]>('SELECT COUNT(*) AS n FROM mysql.innodb_table_stats WHERE database_name IN (?)', [plan.schemas]);
    info = { ...info, tablesWithStats: Number(st!['n']) };

    const [[sysRow]] = await admin.query<mysql.RowDataPacket[]>(
      "SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'sys' AND TABLE_NAME = 'schema_auto_increment_columns'",
    );
    const hasSys = Number(sysRow!['n']) > 0;
    if (!hasSys) say('  sys.schema_auto_increment_columns not found (no sys schema on this server): that contender is skipped');

    const settings = statisticsSettingsSchema.parse({});
    const contenders: Contender[] = [
      {
        name: 'dbmaint collect-statistics',
        expected: N,
        expectedWhat: 'tables',
        run: async (db) => {
          const r = await collectStatistics(db, Deadline.unlimited(), silentLog, {
            schemas: plan.schemas,
            target: 'bench',
            runId: randomUUID(),
            settings,
            historySchema: HISTORY_SCHEMA,
            storageLimitBytes: 100 * 1024 ** 3,
            fragmentationFloorBytes: 100 * 1024 ** 2,
            dryRun: false,
            now: new Date(),
          });
          if (!r.history.written) throw new Error('collect-statistics wrote no history snapshot');
          return r.database.tableCount;
        },
      },
      {
        name: 'dbmaint readTableSizes only',
        expected: N,
        expectedWhat: 'tables',
        run: async (db) => (await readTableSizes(db, { schemas: plan.schemas })).length,
      },
      {
        name: 'MySQLTuner-style information_schema.TABLES',
        expected: N,
        expectedWhat: 'tables',
        run: async (db) =>
          (
            await db.query(
              'SELECT TABLE_SCHEMA, TABLE_NAME, ENGINE, TABLE_ROWS, DATA_LENGTH, INDEX_LENGTH, DATA_FREE FROM information_schema.TABLES WHERE TABLE_SCHEMA IN (?)',
              [plan.schemas],
            )
          ).length,
      },
      ...(hasSys
        ? [
            {
              name: 'sys.schema_auto_increment_columns',
              expected: autoTables,
              expectedWhat: 'tables with an AUTO_INCREMENT column',
              run: async (db: DbSession) => (await db.query('SELECT * FROM sys.schema_auto_increment_columns WHERE table_schema IN (?)', [plan.schemas])).length,
            },
          ]
        : []),
    ];

    const runs = new Map<string, Run[]>(contenders.map((c) => [c.name, []]));
    // Round 0 is a warm-up, not timed: a server on a reused datadir starts cold, one that has just created the tables
    // has them all open; after it, both are where a production server is (below table_open_cache every table is open).
    // Round-robin rather than all runs of one contender in a row, so drift (other load, purge, stats recalc) hits all alike.
    for (let round = 0; round <= R; round++) {
      for (const c of contenders) {
        const db = await openSession(creds, SESSION, 'disabled');
        try {
          // The connect is left out: it is the same for everyone and tells nothing about the catalogue.
          const r = await timed(pid, () => c.run(db));
          if (round > 0) runs.get(c.name)!.push(r);
          say(
            `  ${round === 0 ? 'warm-up  ' : `run ${round}/${R}  `}${c.name.padEnd(44)} ${r.seconds.toFixed(2).padStart(8)} s  cpu ${(r.clientCpuSeconds + r.serverCpuSeconds).toFixed(2).padStart(6)} s  rss ${r.peakRssMb.toFixed(0).padStart(4)} MB  ${r.covered.toLocaleString('en')} ${c.expectedWhat}`,
          );
        } finally {
          await db.close();
        }
      }
    }

    // One more run each of dbmaint's contenders, untimed, from a collected heap: what they hold at their peak.
    const memoryRuns = new Map<string, Run>();
    if (collectGarbage) {
      for (const c of contenders.filter((x) => x.name.startsWith('dbmaint'))) {
        const db = await openSession(creds, SESSION, 'disabled');
        try {
          const r = await timed(pid, () => c.run(db), true);
          memoryRuns.set(c.name, r);
          say(`  memory   ${c.name.padEnd(44)} rss ${r.baseRssMb.toFixed(0)} → peak ${r.peakRssMb.toFixed(0)} MB, heap peak ${r.peakHeapMb.toFixed(0)} MB`);
        } finally {
          await db.close();
        }
      }
    }

    const tunerName = contenders.find((c) => c.name.startsWith('MySQLTuner'))!.name;
    const tunerMedian = median(runs.get(tunerName)!.map((r) => r.seconds));
    for (const c of contenders) {
      const mine = runs.get(c.name)!;
      const med = median(mine.map((r) => r.seconds));
      const cpu = median(mine.map((r) => r.clientCpuSeconds + r.serverCpuSeconds));
      const bad = mine.filter((r) => r.covered !== c.expected);
      outcomes.push({
        contender: c.name,
        runs: mine,
        medianSeconds: med,
        secondsPer1000Tables: (med / N) * 1000,
        medianCpuSeconds: cpu,
        cpuSecondsPer1000Tables: (cpu / N) * 1000,
        peakRssMb: memoryRuns.get(c.name)?.peakRssMb ?? Math.max(...mine.map((r) => r.peakRssMb)),
        peakHeapMb: memoryRuns.get(c.name)?.peakHeapMb ?? Math.max(...mine.map((r) => r.peakHeapMb)),
        ...(memoryRuns.has(c.name) ? { memoryRun: memoryRuns.get(c.name)! } : {}),
        ratioVsTuner: tunerMedian > 0 ? med / tunerMedian : null,
        expected: c.expected,
        ok: bad.length === 0,
        check: bad.length === 0 ? 'ok' : `expected ${c.expected} ${c.expectedWhat}, got ${mine.map((r) => r.covered).join('/')}`,
      });
    }
  } finally {
    await admin?.end().catch(() => undefined);
    await server.stop();
    rmSync(tmpdir, { recursive: true, force: true });
  }
  reportSize(info, outcomes);
  return { tables: N, config: config.name, serverArgs: config.args, info, outcomes, maxRssMbSoFar: process.resourceUsage().maxRSS / 1024 };
}

function reportSize(info: Record<string, unknown>, outcomes: readonly Outcome[]): void {
  const N = Number(info['tables']);
  const rows = outcomes.map((o) => [
    o.contender,
    o.medianSeconds.toFixed(3),
    o.secondsPer1000Tables.toFixed(3),
    o.cpuSecondsPer1000Tables.toFixed(3),
    o.ratioVsTuner === null ? '' : `${o.ratioVsTuner.toFixed(2)}×`,
    o.check,
  ]);
  say('\n' + textTable(['contender', 'median s', 's per 1,000 tables', 'CPU s per 1,000', 'vs MySQLTuner-style', 'check'], rows));
  say(`  ${N.toLocaleString('en')} tables; runs per contender: ${outcomes[0]?.runs.length ?? 0} after a warm-up (median shown); CPU: this process + the server; ratio: median time / the MySQLTuner-style query's.`);
}

const collectOf = (s: SizeResult): Outcome => s.outcomes.find((o) => o.contender === 'dbmaint collect-statistics')!;

/** The collect-statistics figures of one configuration across the sizes, and the ratio largest / smallest. */
function reportConfig(config: string, sizes: readonly SizeResult[]): Record<string, unknown> {
  const rows = sizes.map((s) => {
    const c = collectOf(s);
    return [
      s.tables.toLocaleString('en'),
      c.medianSeconds.toFixed(2),
      c.secondsPer1000Tables.toFixed(3),
      c.cpuSecondsPer1000Tables.toFixed(3),
      `${c.peakRssMb.toFixed(0)} MB${c.memoryRun ? ` (from ${c.memoryRun.baseRssMb.toFixed(0)})` : ''}`,
      `${c.peakHeapMb.toFixed(0)} MB`,
      `~${Math.floor((s.tables / c.medianSeconds) * LAMBDA_LIMIT_SECONDS).toLocaleString('en')}`,
    ];
  });
  const rdsLike = config === 'rds-like';
  say(`\n${rdsLike ? 'RDS-like server settings' : `NOT RDS-like (diagnosis): ${config}`} (${sizes.map((s) => s.serverArgs.join(' ')).filter((a, i, all) => all.indexOf(a) === i).join(' / ')})`);
  say(textTable(['tables', 'collect-statistics median s', 's per 1,000 tables', 'CPU s per 1,000', 'peak RSS', 'peak heap', `tables per ${LAMBDA_LIMIT_SECONDS} s (linear)`], rows));
  const first = sizes[0]!;
  const last = sizes[sizes.length - 1]!;
  const summary: Record<string, unknown> = { config, rdsLike, serverArgs: first.serverArgs, peakCollectRssMb: Math.max(...sizes.map((s) => collectOf(s).peakRssMb)) };
  if (sizes.length > 1) {
    const ratio = collectOf(last).secondsPer1000Tables / collectOf(first).secondsPer1000Tables;
    const cpuRatio = collectOf(last).cpuSecondsPer1000Tables / collectOf(first).cpuSecondsPer1000Tables;
    say(
      `per 1,000 tables at ${last.tables.toLocaleString('en')} / at ${first.tables.toLocaleString('en')}: ${ratio.toFixed(2)}× wall clock, ${cpuRatio.toFixed(2)}× CPU` +
        (rdsLike ? ` (target ≤ ${LINEAR_TARGET}×: ${ratio <= LINEAR_TARGET ? 'met' : 'NOT met'})` : ''),
    );
    Object.assign(summary, { from: first.tables, to: last.tables, ratioPer1000: ratio, cpuRatioPer1000: cpuRatio, ...(rdsLike ? { targetMet: ratio <= LINEAR_TARGET } : {}) });
  }
  return summary;
}

function report(results: readonly SizeResult[]): Record<string, unknown>[] {
  const configs = [...new Set(results.map((r) => r.config))];
  const summaries = configs.map((c) => reportConfig(c, results.filter((r) => r.config === c)));
  const peak = Math.max(...results.map((s) => collectOf(s).peakRssMb));
  say(
    `\npeak RSS of this process during collect-statistics: ${peak.toFixed(0)} MB (function memory ${LAMBDA_MEMORY_MB} MB; the process holds the bench and tsx too)` +
      `; maxRSS of the whole bench process: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB${collectGarbage ? '' : '; without --expose-gc the peak includes the garbage of the runs before'}`,
  );
  return summaries;
}

async function main(): Promise<void> {
  // Resolved before any server starts, so that conflicting flags fail at once.
  const target = resultTarget({ stem: 'stats', out: args.out, baseline: args.baseline });
  const sizes = sizesOption(args.tables);
  const S = intOption('schemas', args.schemas, 1);
  const R = intOption('repeat', args.repeat, 1);
  const K = intOption('rows-per-table', args['rows-per-table'], 0);
  if (sizes.some((n) => S > n)) throw new Error('--schemas must not exceed any --tables size');
  ensureMariaDb(say);
  const results: SizeResult[] = [];
  for (const N of sizes) results.push(...(await measureSize(N, S, R, K, args['datadir-cache'], args['definition-cache-diagnosis'] ?? false)));
  const summary = report(results);
  const replaced = writeResult(
    target,
    JSON.stringify(
      { date: new Date().toISOString(), lambdaLimitSeconds: LAMBDA_LIMIT_SECONDS, lambdaMemoryMb: LAMBDA_MEMORY_MB, linearTarget: LINEAR_TARGET, summary, sizes: results },
      null,
      2,
    ) + '\n',
  );
  say(`results written to ${target.file}`);
  for (const f of replaced) say(`replaced the earlier baseline ${f}`);
  if (results.some((s) => s.outcomes.length === 0 || s.outcomes.some((o) => !o.ok))) process.exitCode = 1;
}

main().catch((err: Error) => {
  process.stderr.write(`bench failed: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
