// `npm run bench:advisor`: the whole recommendations task (schema checks and the server advisor's sampled status) against MySQLTuner's default run, on the same server with ~1,000 tables, side by side in one run.
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { parseArgs } from 'node:util';
import mysql from 'mysql2/promise';
import { runLocal } from '../bin/local-runner';
import { parseConfig } from '../lib/config/load';
import { credentialsFromUrl } from '../lib/db/credentials';
import { ensureMariaDb, startLocalMariaDb } from '../dev/mariadb-server';
import { textTable } from '../lib/reporting/text-table';
import { silentLog } from '../lib/runtime/log';
import type { RecommendationsResult } from '../lib/recommend/types';
import { resultTarget, writeResult } from './result-file';

const { values: args } = parseArgs({
  options: {
    tables: { type: 'string', default: '1000' },
    repeat: { type: 'string', default: '3' },
    out: { type: 'string' },
    baseline: { type: 'boolean', default: false },
  },
});
const target = resultTarget({ stem: 'advisor', out: args.out, baseline: args.baseline });
const TABLES = Number(args.tables);
const REPEAT = Number(args.repeat);
const DB = 'shop';

function say(line: string): void {
  process.stdout.write(line + '\n');
}
const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  ensureMariaDb(say);
  const tuner = spawnSync('mysqltuner', ['--help'], { encoding: 'utf8' });
  if (tuner.error) throw new Error('mysqltuner not found: apt-get install -y mysqltuner');
  // An explicit chunk size: MySQLTuner 1.9.9 divides by MariaDB 10.11's 0 (automatic) and dies.
  const server = await startLocalMariaDb({ bufferPoolMb: 512, extraArgs: ['--performance-schema=ON', '--innodb-buffer-pool-chunk-size=134217728'] });
  const c = credentialsFromUrl(server.url);
  const admin = await mysql.createConnection({ host: c.host, port: c.port, user: c.user, password: c.password, multipleStatements: true });
  try {
    const [[v]] = (await admin.query('SELECT VERSION() AS v')) as unknown as [[{ v: string }]];
    say(`MariaDB ${v.v}; ${os.cpus().length} cores; ${TABLES.toLocaleString('en')} tables`);
    await admin.query(`CREATE DATABASE ${DB}`);
    await admin.query(`USE ${DB}`); // seq_1_to_N lives in the current database
    // A shop's catalogue: most tables small, every tenth with a few thousand rows; planted problems the advisor must find.
    for (let i = 0; i < TABLES; i += 50) {
      const ddl: string[] = [];
      for (let j = i; j < Math.min(TABLES, i + 50); j++) {
        ddl.push(`CREATE TABLE ${DB}.t${j} (id INT AUTO_INCREMENT PRIMARY KEY, customer_id INT NOT NULL, status VARCHAR(20) NOT NULL, created_at DATETIME NOT NULL, KEY ix_customer (customer_id), KEY ix_status (status)) ENGINE=InnoDB`);
        if (j % 10 === 0) ddl.push(`INSERT INTO ${DB}.t${j} (customer_id, status, created_at) SELECT seq % 997, ELT(1 + seq % 3, 'new', 'paid', 'shipped'), NOW() - INTERVAL seq MINUTE FROM seq_1_to_3000`);
      }
      await admin.query(ddl.join(';\n'));
    }
    await admin.query(`CREATE TABLE ${DB}.no_pk (a INT, b INT) ENGINE=InnoDB;
      CREATE TABLE ${DB}.dup (id INT PRIMARY KEY, a INT, b INT, KEY ix_a (a), KEY ix_ab (a, b)) ENGINE=InnoDB;
      CREATE TABLE ${DB}.seq_small (id TINYINT UNSIGNED AUTO_INCREMENT PRIMARY KEY) ENGINE=InnoDB AUTO_INCREMENT=240`);
    const config = parseConfig({
      targets: [{ name: 'bench', secretArn: 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:bench-AbCdEf', schemas: [DB] }],
      runLog: { schema: 'dbmaint' },
    });
    const runs: { tool: string; seconds: number[]; findings: number; sampleSeconds: number }[] = [];
    // MySQLTuner's default run (what its users run), remote-style: it cannot read this host's RAM and swap over TCP.
    const tunerArgs = ['--host', '127.0.0.1', '--port', String(c.port), '--user', c.user, '--pass', c.password, '--forcemem', '4096', '--forceswap', '0', '--nocolor'];
    const tunerSeconds: number[] = [];
    let tunerOut = '';
    for (let i = 0; i <= REPEAT; i++) {
      const t0 = process.hrtime.bigint();
      const out = spawnSync('mysqltuner', tunerArgs, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      if (out.status !== 0) throw new Error(`mysqltuner failed (${out.status}): ${out.stderr}`);
      tunerOut = out.stdout;
      if (i > 0) tunerSeconds.push(s); // the first run warms the server's caches for both tools
      say(`mysqltuner ${i === 0 ? 'warm-up' : `run ${i}`}: ${s.toFixed(2)} s`);
    }
    runs.push({ tool: 'MySQLTuner 1.9.9 (default run)', seconds: tunerSeconds, findings: (tunerOut.match(/^\s*\[!!\]/gm) ?? []).length, sampleSeconds: 0 });
    const dbmaint = async (sampleSeconds: number) => {
      const seconds: number[] = [];
      let res: RecommendationsResult | undefined;
      const cfg = { ...config, recommendations: { ...config.recommendations, advisorSampleSeconds: sampleSeconds } };
      for (let i = 0; i < REPEAT; i++) {
        const t0 = process.hrtime.bigint();
        const out = await runLocal({ task: 'recommendations', config: cfg, databaseUrl: server.url, dryRun: true, log: silentLog });
        const s = Number(process.hrtime.bigint() - t0) / 1e9;
        res = out.result.result as RecommendationsResult;
        seconds.push(s);
        say(`recommendations (sample ${sampleSeconds} s) run ${i + 1}: ${s.toFixed(2)} s`);
      }
      return { seconds, findings: res!.counts.high + res!.counts.medium + res!.counts.low, items: res!.items.map((x) => `${x.code} ${x.object}`) };
    };
    const def = await dbmaint(config.recommendations.advisorSampleSeconds);
    runs.push({ tool: `dbmaint recommendations (default: ${config.recommendations.advisorSampleSeconds} s sample)`, seconds: def.seconds, findings: def.findings, sampleSeconds: config.recommendations.advisorSampleSeconds });
    const short = await dbmaint(1);
    runs.push({ tool: 'dbmaint recommendations (1 s sample)', seconds: short.seconds, findings: short.findings, sampleSeconds: 1 });
    const tunerMedian = median(tunerSeconds);
    say('');
    // The advisor's interval is a wait, not work: shown apart, so that the cost of the checks themselves can be read.
    const work = (r: (typeof runs)[number]) => Math.max(0, median(r.seconds) - r.sampleSeconds);
    say(textTable(['tool', 'median s', 'runs', '× MySQLTuner', 'less the sample wait s', '× MySQLTuner', 'findings'], runs.map((r) => [r.tool, median(r.seconds).toFixed(2), r.seconds.map((x) => x.toFixed(2)).join(' '), (median(r.seconds) / tunerMedian).toFixed(3), work(r).toFixed(2), (work(r) / tunerMedian).toFixed(3), String(r.findings)])));
    const planted = ['NO_PRIMARY_KEY shop.no_pk', 'REDUNDANT_INDEX shop.dup.ix_a', 'AUTO_INCREMENT_EXHAUSTION shop.seq_small'];
    const foundPlanted = planted.filter((p) => def.items.some((i) => i === p || i.startsWith(`${p}.`)));
    const checks = [
      ['recommendations (default sample) ≤ 1/5 of MySQLTuner', median(def.seconds) <= tunerMedian / 5],
      ['recommendations (1 s sample) ≤ 1/5 of MySQLTuner', median(short.seconds) <= tunerMedian / 5],
      ['recommendations less the sample wait ≤ 1/5 of MySQLTuner', work(runs[1]!) <= tunerMedian / 5],
      [`every planted problem found (${planted.join(', ')})`, foundPlanted.length === planted.length],
    ] as const;
    say('');
    for (const [what, ok] of checks) say(`${ok ? 'met ' : 'NOT met'} ${what}`);
    writeResult(target, JSON.stringify({ date: new Date().toISOString(), server: v.v, cores: os.cpus().length, tables: TABLES, runs, dbmaintItems: def.items, checks: checks.map(([what, ok]) => ({ what, ok })) }, null, 2));
    say(`results written to ${target.file}`);
  } finally {
    await admin.end();
    await server.stop();
  }
}

main().catch((err: Error) => {
  process.stderr.write(`bench:advisor failed: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
