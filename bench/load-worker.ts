// The load process: runs the paced foreground connections and reports latency percentiles when told to stop.
import mysql from 'mysql2/promise';
import { credentialsFromUrl } from '../lib/db/credentials';
import { summarizeLoad, type LoadOptions, type LoadRun, type SlowOp } from './foreground-load';
import { LOAD_OPS } from './load-ops';
import { mulberry32 } from '../dev/prng';

const o = JSON.parse(process.env['DBMAINT_LOAD_OPTIONS'] ?? '{}') as LoadOptions;
const op = LOAD_OPS[o.table]!;
const c = credentialsFromUrl(o.url);
const conns = await Promise.all(
  Array.from({ length: o.connections }, () => mysql.createConnection({ host: c.host, port: c.port, user: c.user, password: c.password, timezone: 'Z' })),
);
const latencies: number[] = [];
const slow: SlowOp[] = [];
let errors = 0;
let running = true;
const loops = conns.map(async (conn, i) => {
  const rnd = mulberry32(o.seed + i);
  while (running) {
    const t0 = performance.now();
    const at = Date.now();
    const { kind, run } = op(conn, rnd, o.rows);
    try {
      await run;
    } catch {
      errors++;
    }
    const ms = performance.now() - t0;
    latencies.push(ms);
    // Slow enough to show in --verbose: several connections slow at the same millisecond are a stall of the machine, not a row lock.
    if (ms > 7) slow.push({ at, ms, kind });
    const wait = o.intervalMs - ms;
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
});
process.once('message', async () => {
  running = false;
  await Promise.all(loops);
  await Promise.all(conns.map((x) => x.end()));
  const run: LoadRun = { stats: summarizeLoad([{ latencies, errors, slowest: slow }]), latencies };
  process.send!(run, () => process.exit(0));
});
process.send!({ ready: true });
