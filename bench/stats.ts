// `npm run bench:stats`: seconds per 1,000 tables for collect-statistics, side by side with MySQLTuner-style and sys-schema catalogue reads.
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import mysql from 'mysql2/promise';
import { statisticsSettingsSchema } from '../lib/config/schema';
import { openSession, type DbSession } from '../lib/db/connection';
import { credentialsFromUrl } from '../lib/db/credentials';
import { ensureMariaDb, startLocalMariaDb } from '../lib/local/mariadb-server';
import { textTable } from '../lib/reporting/text-table';
import { Deadline } from '../lib/runtime/deadline';
import { silentLog } from '../lib/runtime/log';
import { collectStatistics } from '../lib/stats/collect';
import { readTableSizes } from '../lib/stats/sizes';

const { values: args } = parseArgs({
  options: {
    tables: { type: 'string', default: '5000' },
    /** The tables are spread evenly over this many schemas. */
    schemas: { type: 'string', default: '1' },
    /** Runs per contender; the report shows the median (this VM's timings vary by ±20%). */
    repeat: { type: 'string', default: '3' },
    out: { type: 'string' },
    'rows-per-table': { type: 'string', default: '20' },
  },
});

function intOption(name: string, value: string | undefined, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min} (got ${String(value)})`);
  return n;
}

const LAMBDA_LIMIT_SECONDS = 900;
const HISTORY_SCHEMA = 'dbmaint';
// Below the table count on purpose, as on a small RDS instance: the catalogue reads must reopen tables.
const SERVER_ARGS = ['--table-open-cache=2000', '--table-definition-cache=2000'];
const SESSION = { lockWaitTimeoutSeconds: 5, innodbLockWaitTimeoutSeconds: 5, connectTimeoutSeconds: 5 };
const DDL_BATCH = 100;
const STATS_WAIT_MS = 30_000;

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

interface Outcome {
  readonly contender: string;
  readonly runs: readonly number[];
  readonly medianSeconds: number;
  readonly secondsPer1000Tables: number;
  readonly ratioVsTuner: number | null;
  readonly covered: readonly number[];
  readonly expected: number;
  readonly ok: boolean;
  readonly check: string;
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

async function main(): Promise<void> {
  const N = intOption('tables', args.tables, 1);
  const S = intOption('schemas', args.schemas, 1);
  const R = intOption('repeat', args.repeat, 1);
  const K = intOption('rows-per-table', args['rows-per-table'], 0);
  if (S > N) throw new Error('--schemas must not exceed --tables');
  const plan = layout(N, S);
  const autoTables = plan.tables.filter((t) => t.shape.autoIncrement).length;

  ensureMariaDb(say);
  say(`Starting MariaDB for the benchmark (${SERVER_ARGS.join(' ')})...`);
  const server = await startLocalMariaDb({ extraArgs: SERVER_ARGS });
  const creds = credentialsFromUrl(server.url);
  let admin: mysql.Connection | undefined;
  const outcomes: Outcome[] = [];
  let info: Record<string, unknown> = {};
  try {
    // multipleStatements only here, for the set-up: DDL in batches costs one round trip per batch.
    admin = await mysql.createConnection({ host: creds.host, port: creds.port, user: creds.user, password: creds.password, multipleStatements: true });
    const [[v]] = await admin.query<mysql.RowDataPacket[]>('SELECT VERSION() AS v, @@table_open_cache AS toc, @@table_definition_cache AS tdc, @@open_files_limit AS ofl');
    // The server may lower table_open_cache to fit open_files_limit: report what it runs with.
    info = { mariadb: String(v!['v']), cores: os.cpus().length, tables: N, schemas: S, rowsPerTable: K, tableOpenCache: Number(v!['toc']), tableDefinitionCache: Number(v!['tdc']), openFilesLimit: Number(v!['ofl']) };
    say(`MariaDB ${info['mariadb']}; ${info['cores']} cores; ${N.toLocaleString('en')} tables in ${S} schema(s), ${K} rows each; table_open_cache=${info['tableOpenCache']}, table_definition_cache=${info['tableDefinitionCache']}, open_files_limit=${info['openFilesLimit']}`);

    let t0 = Date.now();
    for (const schema of plan.schemas) await admin.query(`CREATE DATABASE ${schema}`);
    for (const schema of plan.schemas) {
      const mine = plan.tables.filter((t) => t.schema === schema);
      for (let i = 0; i < mine.length; i += DDL_BATCH) {
        await admin.query(mine.slice(i, i + DDL_BATCH).map((t) => `${t.shape.ddl(`${schema}.${t.table}`)};`).join('\n'));
      }
    }
    const createMs = Date.now() - t0;
    say(`created ${N.toLocaleString('en')} tables in ${seconds(createMs)} s`);

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
    say(`filled them (${K} rows each) in ${seconds(fillMs)} s`);

    // No ANALYZE TABLE, as in production: wait for InnoDB's automatic recalculation to have written statistics instead.
    t0 = Date.now();
    let withStats = 0;
    for (;;) {
      const [[c]] = await admin.query<mysql.RowDataPacket[]>('SELECT COUNT(*) AS n FROM mysql.innodb_table_stats WHERE database_name IN (?)', [plan.schemas]);
      withStats = Number(c!['n']);
      if (withStats >= N || Date.now() - t0 > STATS_WAIT_MS) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    say(`persistent statistics present for ${withStats.toLocaleString('en')} of ${N.toLocaleString('en')} tables after ${seconds(Date.now() - t0)} s`);
    info = { ...info, createSeconds: createMs / 1000, fillSeconds: fillMs / 1000, tablesWithStats: withStats };

    const [[sysRow]] = await admin.query<mysql.RowDataPacket[]>(
      "SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'sys' AND TABLE_NAME = 'schema_auto_increment_columns'",
    );
    const hasSys = Number(sysRow!['n']) > 0;
    if (!hasSys) say('sys.schema_auto_increment_columns not found (no sys schema on this server): that contender is skipped');

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

    const times = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
    const covered = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
    // Round-robin rather than all runs of one contender in a row, so drift (other load, purge, stats recalc) hits all alike.
    for (let run = 1; run <= R; run++) {
      for (const c of contenders) {
        const db = await openSession(creds, SESSION, 'disabled');
        try {
          // The connect is left out: it is the same for everyone and tells nothing about the catalogue.
          const start = performance.now();
          const n = await c.run(db);
          const s = (performance.now() - start) / 1000;
          times.get(c.name)!.push(s);
          covered.get(c.name)!.push(n);
          say(`  run ${run}/${R}  ${c.name.padEnd(44)} ${s.toFixed(2).padStart(8)} s  ${n.toLocaleString('en')} ${c.expectedWhat}`);
        } finally {
          await db.close();
        }
      }
    }

    const tuner = contenders.find((c) => c.name.startsWith('MySQLTuner'))!;
    const tunerMedian = median(times.get(tuner.name)!);
    for (const c of contenders) {
      const runs = times.get(c.name)!;
      const got = covered.get(c.name)!;
      const med = median(runs);
      const bad = got.filter((n) => n !== c.expected);
      outcomes.push({
        contender: c.name,
        runs,
        medianSeconds: med,
        secondsPer1000Tables: (med / N) * 1000,
        ratioVsTuner: tunerMedian > 0 ? med / tunerMedian : null,
        covered: got,
        expected: c.expected,
        ok: bad.length === 0,
        check: bad.length === 0 ? 'ok' : `expected ${c.expected} ${c.expectedWhat}, got ${got.join('/')}`,
      });
    }
  } finally {
    await admin?.end().catch(() => undefined);
    await server.stop();
  }
  report(info, outcomes);
}

function report(info: Record<string, unknown>, outcomes: readonly Outcome[]): void {
  const N = Number(info['tables']);
  const rows = outcomes.map((o) => [
    o.contender,
    o.medianSeconds.toFixed(3),
    o.secondsPer1000Tables.toFixed(3),
    o.ratioVsTuner === null ? '' : `${o.ratioVsTuner.toFixed(2)}×`,
    o.check,
  ]);
  say('\n' + textTable(['contender', 'median s', 's per 1,000 tables', 'vs MySQLTuner-style', 'check'], rows));
  say(`runs per contender: ${outcomes[0]?.runs.length ?? 0} (median shown); ratio: median time / the MySQLTuner-style query's (lower is faster).`);
  say(`MariaDB ${String(info['mariadb'])}; ${String(info['cores'])} cores; ${N.toLocaleString('en')} tables in ${String(info['schemas'])} schema(s); table_open_cache=${String(info['tableOpenCache'])}`);
  const collect = outcomes.find((o) => o.contender === 'dbmaint collect-statistics');
  if (collect && collect.medianSeconds > 0) {
    // Linear in the table count is an assumption (catalogue reads are per table); the history insert is batched.
    const perLimit = Math.floor((N / collect.medianSeconds) * LAMBDA_LIMIT_SECONDS);
    say(`Lambda limit ${LAMBDA_LIMIT_SECONDS} s: at the dbmaint median (${collect.medianSeconds.toFixed(3)} s for ${N.toLocaleString('en')} tables) one invocation covers ~${perLimit.toLocaleString('en')} tables (linear extrapolation).`);
    if (N <= Number(info['tableOpenCache'])) say(`  (optimistic: all ${N.toLocaleString('en')} tables fit table_open_cache; the figure that matters comes from --tables above it)`);
  }
  if (args.out) {
    mkdirSync(path.dirname(path.resolve(args.out)), { recursive: true });
    writeFileSync(args.out, JSON.stringify({ ...info, lambdaLimitSeconds: LAMBDA_LIMIT_SECONDS, serverArgs: SERVER_ARGS, results: outcomes }, null, 2));
    say(`results written to ${args.out}`);
  }
  if (outcomes.length === 0 || outcomes.some((o) => !o.ok)) process.exitCode = 1;
}

main().catch((err: Error) => {
  process.stderr.write(`bench failed: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
