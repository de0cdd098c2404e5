// pt-online-schema-change as a rebuild engine: its command line from the settings, the run as a child process stopped at the deadline, and the by-hand commands (pt-osc, gh-ost) for the recommendation.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { OptimizeSettings, PurgeSettings, TargetConfig } from '../config/schema';
import { tlsOptionsFor } from '../db/connection';
import type { CredentialSource, DbCredentials } from '../db/credentials';

const PT_OSC_BINARY = 'pt-online-schema-change';

/** What the command line is built from: the table, the throttles of the purge settings, the rebuild's lock wait. */
export interface PtOscTarget {
  readonly schema: string;
  readonly table: string;
  readonly host: string;
  readonly port: number;
  /** TLS to the server (DSN `s=1`). */
  readonly tls: boolean;
  /** A replica to watch for lag (host:port), with the same credentials file. */
  readonly replica?: { readonly host: string; readonly port: number };
}

/** pt-osc's DSN keys take `,` and `=` as separators: identifiers with them cannot be passed (and are refused before). */
function dsnValue(v: string): string {
  if (/[,=\s]/.test(v)) throw new Error(`'${v}' cannot be written into a pt-online-schema-change DSN (it holds ',', '=' or a space)`);
  return v;
}

/**
 * The arguments: the null rebuild `ENGINE=InnoDB`, copying in chunks of `chunk-time` 0.5 s, pausing above the purge's
 * Threads_running and replica-lag limits (`--max-load`, `--max-lag`), aborting at four times the Threads_running limit
 * (`--critical-load`), and every metadata-lock step (triggers, cut-over RENAME) with the rebuild's short lock_wait_timeout
 * and retries, so that the application never queues long behind the tool.
 */
export function ptOscArgs(t: PtOscTarget, optimize: OptimizeSettings, purge: PurgeSettings, credentialsFile: string | undefined, execute: boolean): string[] {
  const dsn = [`h=${dsnValue(t.host)}`, `P=${t.port}`, `D=${dsnValue(t.schema)}`, `t=${dsnValue(t.table)}`, ...(credentialsFile ? [`F=${credentialsFile}`] : []), ...(t.tls ? ['s=1'] : [])].join(',');
  return [
    '--alter',
    'ENGINE=InnoDB',
    '--chunk-time',
    '0.5',
    '--max-load',
    `Threads_running=${purge.maxThreadsRunning}`,
    '--critical-load',
    `Threads_running=${purge.maxThreadsRunning * 4}`,
    '--max-lag',
    String(Math.max(1, Math.round(purge.maxReplicaLagSeconds))),
    ...(t.replica ? ['--recursion-method', 'none', '--check-slave-lag', `h=${dsnValue(t.replica.host)},P=${t.replica.port}${credentialsFile ? `,F=${credentialsFile}` : ''}`] : ['--recursion-method', 'none']),
    '--set-vars',
    `lock_wait_timeout=${optimize.lockWaitTimeoutSeconds},innodb_lock_wait_timeout=${optimize.lockWaitTimeoutSeconds}`,
    '--tries',
    'create_triggers:10:1,drop_triggers:10:1,copy_rows:10:0.25,swap_tables:10:1,update_foreign_keys:10:1',
    '--no-check-unique-key-change',
    '--progress',
    'time,30',
    execute ? '--execute' : '--dry-run',
    dsn,
  ];
}

function shellQuote(a: string): string {
  return /^[A-Za-z0-9_./:=,@%+-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

/** The command to run by hand (credentials from ~/.my.cnf, as an operator runs it): the same throttles and lock waits. */
export function ptOscCommand(t: PtOscTarget, optimize: OptimizeSettings, purge: PurgeSettings): string {
  return [PT_OSC_BINARY, ...ptOscArgs(t, optimize, purge, undefined, true)].map(shellQuote).join(' ');
}

/** gh-ost's equivalent: a null `ENGINE=InnoDB` migration throttled on the same limits, cut-over with the same lock wait. */
export function ghostCommand(t: PtOscTarget, optimize: OptimizeSettings, purge: PurgeSettings): string {
  return [
    'gh-ost',
    `--host=${t.host}`,
    `--port=${t.port}`,
    `--database=${t.schema}`,
    `--table=${t.table}`,
    '--alter=ENGINE=InnoDB',
    `--max-load=Threads_running=${purge.maxThreadsRunning}`,
    `--critical-load=Threads_running=${purge.maxThreadsRunning * 4}`,
    `--max-lag-millis=${Math.round(purge.maxReplicaLagSeconds * 1000)}`,
    `--cut-over-lock-timeout-seconds=${optimize.lockWaitTimeoutSeconds}`,
    '--chunk-size=1000',
    '--allow-on-master',
    '--assume-rbr',
    '--execute',
  ]
    .map(shellQuote)
    .join(' ');
}

export interface PtOscRun {
  readonly exitCode: number | null;
  /** Stopped at the deadline with SIGINT: pt-osc drops its triggers and new table, the original is untouched. */
  readonly interrupted: boolean;
  readonly output: string;
  readonly seconds: number;
}

/**
 * Runs pt-osc against `creds` until it ends or `deadlineMs` (epoch ms) passes; the password goes through a defaults file
 * readable by this user alone (never on the command line, where `ps` shows it), removed afterwards.
 */
export async function runPtOsc(t: PtOscTarget, creds: DbCredentials, optimize: OptimizeSettings, purge: PurgeSettings, deadlineMs: number, binary = PT_OSC_BINARY): Promise<PtOscRun> {
  const dir = mkdtempSync(path.join(tmpdir(), 'dbmaint-ptosc-'));
  const file = path.join(dir, 'client.cnf');
  writeFileSync(file, `[client]\nuser=${creds.user}\npassword="${creds.password.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"\n`, { mode: 0o600 });
  const started = Date.now();
  try {
    return await new Promise<PtOscRun>((resolve, reject) => {
      const child = spawn(binary, ptOscArgs(t, optimize, purge, file, true), { stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      let interrupted = false;
      const keep = (b: Buffer) => {
        // The tail is what explains an exit: keep at most 64 KB.
        output = (output + b.toString('utf8')).slice(-65_536);
      };
      child.stdout.on('data', keep);
      child.stderr.on('data', keep);
      const timer = setTimeout(
        () => {
          interrupted = true;
          child.kill('SIGINT');
        },
        Math.max(0, deadlineMs - Date.now()),
      );
      child.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ exitCode: code, interrupted, output, seconds: Math.round((Date.now() - started) / 100) / 10 });
      });
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Whether the binary can be started here (the container image has Percona Toolkit; a Lambda has no Perl). */
export async function ptOscAvailable(binary = PT_OSC_BINARY): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(binary, ['--version'], { stdio: 'ignore' });
    child.on('error', () => resolve(false));
    child.on('close', (code) => resolve(code === 0));
  });
}

/** The target's server as pt-osc (and gh-ost) address it: its credentials, and a table's PtOscTarget (TLS as the sessions use it, the first replica for lag). */
export async function ptOscServer(credentials: CredentialSource, target: TargetConfig): Promise<{ readonly creds: DbCredentials; at(schema: string, table: string): PtOscTarget }> {
  const creds = await credentials.get(target.secretArn);
  const replicaArn = target.replicaSecretArns[0];
  const replica = replicaArn ? await credentials.get(replicaArn) : undefined;
  const tls = tlsOptionsFor(creds.host, target.tls) !== undefined;
  return { creds, at: (schema, table) => ({ schema, table, host: creds.host, port: creds.port, tls, ...(replica ? { replica: { host: replica.host, port: replica.port } } : {}) }) };
}
