// pt-online-schema-change as the long runner's rebuild engine: its command line, and the long runner's bundled entry point as a plain process rebuilding a real table while a writer inserts and updates.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credentialsFromUrl } from '../lib/db/credentials';
import { ghostCommand, ptOscArgs, ptOscAvailable, ptOscCommand, runPtOsc } from '../lib/maintenance/pt-osc';
import { esbuildOptions } from '../infra/bundle-options';
import { runTaskWith } from '../lib/tasks/run-task';
import { rebuildIndexes } from '../lib/tasks/modules/rebuild-indexes';
import { recommendations as recommendationsTask } from '../lib/tasks/modules/recommendations';
import type { RecommendationsResult } from '../lib/recommend/types';
import { anyTask } from '../lib/tasks/task-module';
import { UrlCredentialSource } from '../lib/db/credentials';
import { EmfMetricsPublisher } from '../lib/metrics/emf';
import { Deadline } from '../lib/runtime/deadline';
import { silentLog } from '../lib/runtime/log';
import { adminConnection, freshSchema, serverUrl, testConfig, testTarget } from './support/db';
import { repoRoot } from './support/synth';

const SCHEMA = 'ptosc_t';
const cfg = testConfig([SCHEMA], { targets: [testTarget([SCHEMA], { rebuildTables: ['big'] })] });
const at = { schema: SCHEMA, table: 'big', host: 'db.example.com', port: 3306, tls: true };

describe('the pt-online-schema-change command line', () => {
  it('throttles on the purge limits, waits for metadata locks as briefly as an ALTER, and keeps the password off the command line', () => {
    const args = ptOscArgs(at, cfg.optimize, cfg.purge, '/tmp/x/client.cnf', true);
    expect(args).toEqual(expect.arrayContaining(['--alter', 'ENGINE=InnoDB', '--max-load', 'Threads_running=40', '--critical-load', 'Threads_running=160', '--max-lag', '30', '--execute']));
    expect(args[args.indexOf('--set-vars') + 1]).toBe('lock_wait_timeout=3,innodb_lock_wait_timeout=3');
    expect(args.at(-1)).toBe('h=db.example.com,P=3306,D=ptosc_t,t=big,F=/tmp/x/client.cnf,s=1');
    expect(args.join(' ')).not.toMatch(/password|--password|p=/);
  });

  it('prints the by-hand pt-online-schema-change and gh-ost commands with the same limits', () => {
    expect(ptOscCommand(at, cfg.optimize, cfg.purge)).toMatch(/^pt-online-schema-change --alter ENGINE=InnoDB .*--max-load Threads_running=40 .*--execute h=db\.example\.com,P=3306,D=ptosc_t,t=big,s=1$/);
    expect(ghostCommand(at, cfg.optimize, cfg.purge)).toBe(
      'gh-ost --host=db.example.com --port=3306 --database=ptosc_t --table=big --alter=ENGINE=InnoDB --max-load=Threads_running=40 --critical-load=Threads_running=160 --max-lag-millis=30000 --cut-over-lock-timeout-seconds=3 --chunk-size=1000 --allow-on-master --assume-rbr --execute',
    );
  });

  it('refuses identifiers a DSN cannot carry', () => {
    expect(() => ptOscArgs({ ...at, table: 'a,b' }, cfg.optimize, cfg.purge, undefined, true)).toThrow(/cannot be written into a pt-online-schema-change DSN/);
  });
});

describe('the long runner against MariaDB', () => {
  let admin: mysql.Connection;
  let bundle: string;
  let configFile: string;
  const ROWS = 20_000;

  /** The table's whole content, id → val. */
  async function content(): Promise<Map<number, string>> {
    const [rows] = await admin.query(`SELECT id, val FROM \`${SCHEMA}\`.big`);
    return new Map((rows as { id: number; val: string }[]).map((r) => [Number(r.id), String(r.val)]));
  }
  async function leftovers(): Promise<{ triggers: number; tables: string[] }> {
    const [tr] = await admin.query('SELECT COUNT(*) AS n FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA = ?', [SCHEMA]);
    const [tb] = await admin.query('SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME', [SCHEMA]);
    return { triggers: Number((tr as { n: number }[])[0]!.n), tables: (tb as { t: string }[]).map((r) => r.t) };
  }
  async function tableId(): Promise<number> {
    const [rows] = await admin.query('SELECT TABLE_ID AS id FROM information_schema.INNODB_SYS_TABLES WHERE NAME = ?', [`${SCHEMA}/big`]);
    return Number((rows as { id: number }[])[0]!.id);
  }

  function runProcess(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [bundle], { env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
      child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  }

  beforeAll(async () => {
    admin = await adminConnection();
    await freshSchema(admin, SCHEMA);
    await admin.query(`DROP DATABASE IF EXISTS \`${SCHEMA}_log\``);
    await admin.query(`CREATE TABLE \`${SCHEMA}\`.big (id INT AUTO_INCREMENT PRIMARY KEY, val VARCHAR(64) NOT NULL, pad CHAR(200) NOT NULL DEFAULT '', KEY ix_val (val)) ENGINE=InnoDB`);
    await admin.query(`USE \`${SCHEMA}\``);
    await admin.query(`INSERT INTO \`${SCHEMA}\`.big (val, pad) SELECT CONCAT('v', seq, '-0'), REPEAT('x', 200) FROM seq_1_to_${ROWS}`);
    // The long runner's own bundle, built as the image's Dockerfile builds it (infra/long-runner/).
    const dir = mkdtempSync(path.join(os.tmpdir(), 'dbmaint-long-runner-'));
    bundle = path.join(dir, 'long-runner.cjs');
    await build({ ...esbuildOptions(repoRoot, path.join(repoRoot, 'functions/long-runner.ts'), bundle, { sourceMap: false }) });
    configFile = path.join(dir, 'dbmaint.config.json');
    writeFileSync(configFile, JSON.stringify({ targets: [testTarget([SCHEMA], { rebuildTables: ['big'] })], runLog: { schema: `${SCHEMA}_log` } }));
  }, 120_000);
  afterAll(async () => {
    await admin?.end();
  });

  it('has pt-online-schema-change installed (Percona Toolkit; .ci/run installs it)', async () => {
    expect(await ptOscAvailable()).toBe(true);
  });

  it('rebuilds a table with pt-online-schema-change while a writer inserts and updates: every row and every change conserved', async () => {
    const before = await tableId();
    const expected = await content();
    const writer = await adminConnection();
    let stop = false;
    let writes = 0;
    // One writer, autocommit: what it committed is exactly `expected` when it stops. A statement the server rolled back
    // (a deadlock with the tool's copy chunk, which reads the rows it copies with shared locks) is retried, as an
    // application does; only a committed statement changes `expected`.
    let retried = 0;
    const commit = async (sql: string, values: unknown[]) => {
      for (;;) {
        try {
          return await writer.query(sql, values);
        } catch (err) {
          if (![1213, 1205].includes((err as { errno?: number }).errno ?? 0)) throw err;
          retried++;
        }
      }
    };
    const writing = (async () => {
      let n = 0;
      while (!stop) {
        n++;
        const [ins] = await commit(`INSERT INTO \`${SCHEMA}\`.big (val) VALUES (?)`, [`new-${n}`]);
        expected.set((ins as { insertId: number }).insertId, `new-${n}`);
        const id = 1 + ((n * 7919) % ROWS);
        const val = `v${id}-${n}`;
        await commit(`UPDATE \`${SCHEMA}\`.big SET val = ? WHERE id = ?`, [val, id]);
        expected.set(id, val);
        writes += 2;
      }
    })();
    const event = { task: 'rebuild-indexes', target: 'test', source: 'dbmaint.routine', tables: ['big'], engine: 'pt-online-schema-change' };
    const out = await runProcess({ DBMAINT_CONFIG_FILE: configFile, DBMAINT_DATABASE_URL: serverUrl(), DBMAINT_EVENT: JSON.stringify(event), DBMAINT_BUDGET_SECONDS: '600' });
    stop = true;
    await writing;
    await writer.end();
    expect(out.code, out.stderr).toBe(0);
    const line = out.stdout.split('\n').find((l) => l.startsWith('{"longRunnerResult"'));
    const result = (JSON.parse(line!) as { longRunnerResult: { status: string; result: { tables: { action: string; statement: string }[] } } }).longRunnerResult;
    expect(result.status).toBe('succeeded');
    expect(result.result.tables).toMatchObject([{ action: 'rebuilt', statement: expect.stringMatching(/^pt-online-schema-change --alter ENGINE=InnoDB /) }]);
    // A new table under the old name, holding exactly what the writer left.
    expect(await tableId()).not.toBe(before);
    const after = await content();
    expect(after.size).toBe(expected.size);
    for (const [id, val] of expected) if (after.get(id) !== val) expect({ id, val: after.get(id) }).toEqual({ id, val });
    expect(await leftovers()).toEqual({ triggers: 0, tables: ['big'] });
    process.stderr.write(`pt-osc rebuild: ${writes} writes by the writer while the long runner ran, ${retried} retried after a deadlock or lock wait\n`);
    // The run log has the command as run, with its engine.
    const [log] = await admin.query(`SELECT command_type AS type, JSON_VALUE(extra, '$.engine') AS engine FROM \`${SCHEMA}_log\`.command_log WHERE table_name = 'big'`);
    expect(log).toEqual([{ type: 'REBUILD', engine: 'pt-online-schema-change' }]);
  }, 300_000);

  it('rejects an invalid input before any SQL, exit code 2', async () => {
    const bad = await runProcess({ DBMAINT_CONFIG_FILE: configFile, DBMAINT_DATABASE_URL: 'mysql://nobody@127.0.0.1:1/x', DBMAINT_EVENT: JSON.stringify({ task: 'cleanup-data', target: 'test' }), DBMAINT_BUDGET_SECONDS: '600' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/DBMAINT_EVENT\.task: must be one of optimize-tables, rebuild-indexes/);
    const noBudget = await runProcess({ DBMAINT_CONFIG_FILE: configFile, DBMAINT_DATABASE_URL: 'mysql://nobody@127.0.0.1:1/x', DBMAINT_EVENT: JSON.stringify({ task: 'rebuild-indexes', target: 'test' }) });
    expect(noBudget.code).toBe(2);
    expect(noBudget.stderr).toMatch(/DBMAINT_BUDGET_SECONDS: required/);
  });

  it('stopped at its deadline, pt-online-schema-change leaves the table as it was: no trigger, no copy, every row', async () => {
    const expected = await content();
    const run = await runPtOsc({ schema: SCHEMA, table: 'big', ...credentialsFromUrl(serverUrl()), tls: false }, credentialsFromUrl(serverUrl()), cfg.optimize, cfg.purge, Date.now() + 1500);
    // Whether the copy had begun at the deadline is the machine's business; the table's state afterwards is not.
    if (run.interrupted) expect(run.exitCode).not.toBe(0);
    expect(await leftovers()).toEqual({ triggers: 0, tables: ['big'] });
    expect(await content()).toEqual(expected);
  }, 120_000);

  it('recommends REBUILD_TOO_LARGE with the exact pt-online-schema-change and gh-ost commands when a table outlasts one invocation, and not with the long runner', async () => {
    const deps = { credentials: new UrlCredentialSource(serverUrl()), metrics: new EmfMetricsPublisher(cfg.metricNamespace, () => undefined), log: silentLog, deadline: Deadline.fromRemaining(600_000, 0) };
    const slow = testConfig([SCHEMA], { optimize: { defaultRebuildMbPerSecond: 0.001 }, targets: [testTarget([SCHEMA], { rebuildTables: ['big'] })] });
    const run = await runTaskWith(anyTask(recommendationsTask), { target: 'test' }, { ...deps, config: slow });
    const items = (run.result as RecommendationsResult).items.filter((i) => i.code === 'REBUILD_TOO_LARGE');
    const { host, port } = credentialsFromUrl(serverUrl());
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ priority: 'medium', object: `${SCHEMA}.big`, evidence: { rateSource: 'default', budgetSeconds: 870, bytesPerSecond: 1049 } });
    expect(items[0]!.message).toMatch(/^ptosc_t\.big \([\d.]+ MiB\) needs about [\d,]+ s to rebuild at .*more than one invocation \(870 s\): rebuild-indexes \(rebuildTables\) defers it on every run$/);
    expect(items[0]!.fix).toContain(`pt-online-schema-change --alter ENGINE=InnoDB --chunk-time 0.5 --max-load Threads_running=40`);
    expect(items[0]!.fix).toContain(`h=${host},P=${port},D=ptosc_t,t=big`);
    expect(items[0]!.fix).toContain(`gh-ost --host=${host} --port=${port} --database=ptosc_t --table=big --alter=ENGINE=InnoDB`);
    // At the default rate the table fits one invocation: nothing to say.
    const fast = await runTaskWith(anyTask(recommendationsTask), { target: 'test' }, { ...deps, config: cfg });
    expect((fast.result as RecommendationsResult).items.filter((i) => i.code === 'REBUILD_TOO_LARGE')).toEqual([]);
    const withRunner = testConfig([SCHEMA], {
      optimize: { defaultRebuildMbPerSecond: 0.001 },
      network: { vpcId: 'vpc-0123456789abcdef0', subnetIds: ['subnet-0123456789abcdef0'], securityGroupIds: ['sg-0123456789abcdef0'] },
      longRunner: { enabled: true },
      targets: [testTarget([SCHEMA], { rebuildTables: ['big'] })],
    });
    const long = (await runTaskWith(anyTask(recommendationsTask), { target: 'test' }, { ...deps, config: withRunner })).result as RecommendationsResult;
    expect(long.items.filter((i) => i.code === 'REBUILD_TOO_LARGE')).toEqual([]);
    expect(long.checks.find((c) => c.code === 'REBUILD_TOO_LARGE')?.note).toMatch(/the long runner rebuilds/);
  });

  it('refuses the pt-online-schema-change engine where the binary is missing (a Lambda), before any table is touched', async () => {
    const path0 = process.env['PATH'];
    process.env['PATH'] = '/nonexistent';
    try {
      await expect(
        runTaskWith(anyTask(rebuildIndexes), { target: 'test', tables: ['big'], engine: 'pt-online-schema-change' }, {
          config: cfg,
          credentials: new UrlCredentialSource(serverUrl()),
          metrics: new EmfMetricsPublisher(cfg.metricNamespace, () => undefined),
          log: silentLog,
          deadline: Deadline.fromRemaining(60_000, 0),
        }),
      ).rejects.toThrow(/event\.engine: pt-online-schema-change is not installed where this task runs/);
    } finally {
      process.env['PATH'] = path0;
    }
  });
});
