// A throw-away MariaDB server in a temp directory, for the tests and the demo (never used in Lambda).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';

export interface LocalMariaDb {
  /** mysql://dbmaint:...@127.0.0.1:PORT/ — an account with all privileges. */
  readonly url: string;
  readonly port: number;
  readonly socket: string;
  readonly dir: string;
  stop(): Promise<void>;
}

/**
 * Test-only (fault injection): stop the server — SIGKILL by default, a crash: nothing flushed,
 * InnoDB recovers on the next start — and start it again on the same datadir, socket and port.
 * Resolves once it accepts connections again (crash recovery done).
 */
export interface RestartableMariaDb {
  restart(options?: { readonly signal?: 'SIGKILL' | 'SIGTERM' }): Promise<void>;
}


function findMariaDbBinaries(): { server: string; installDb: string } | undefined {
  const candidates = (names: string[]) => {
    for (const name of names) {
      for (const dir of [...(process.env['PATH'] ?? '').split(':'), '/usr/sbin', '/usr/local/sbin', '/usr/bin']) {
        const p = path.join(dir, name);
        if (dir && existsSync(p)) return p;
      }
    }
    return undefined;
  };
  const server = candidates(['mariadbd', 'mysqld']);
  const installDb = candidates(['mariadb-install-db', 'mysql_install_db']);
  return server && installDb ? { server, installDb } : undefined;
}

/** As root, install a Debian package with apt-get; otherwise fail with the one command to run. */
function installDebianPackage(pkg: string, what: string, found: () => boolean, say: (line: string) => void): void {
  if (process.getuid?.() === 0 && existsSync('/usr/bin/apt-get')) {
    say(`${what} is not installed; installing Debian package ${pkg}...`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const update = spawnSync('apt-get', ['update', '-q'], { stdio: 'inherit', env });
    const install = update.status === 0 ? spawnSync('apt-get', ['install', '-y', '-q', pkg], { stdio: 'inherit', env }) : update;
    if (install.status === 0 && found()) return;
    throw new Error(`installing ${pkg} failed; see the apt output above`);
  }
  throw new Error(`${what} is not installed. Install it, then run the command again:\n  sudo apt-get install -y ${pkg}`);
}

/**
 * Make sure a MariaDB server binary exists: as root, install Debian's mariadb-server;
 * otherwise fail with the one command to run.
 */
export function ensureMariaDb(say: (line: string) => void = (l) => process.stdout.write(l + '\n')): void {
  if (findMariaDbBinaries()) return;
  installDebianPackage('mariadb-server', 'MariaDB', () => findMariaDbBinaries() !== undefined, say);
}

/** pt-online-schema-change, the long runner's rebuild engine, for the tests that run it (Debian's percona-toolkit). */
export function ensurePerconaToolkit(say: (line: string) => void = (l) => process.stdout.write(l + '\n')): void {
  const found = () => spawnSync('pt-online-schema-change', ['--version'], { stdio: 'ignore' }).status === 0;
  if (found()) return;
  installDebianPackage('percona-toolkit', 'Percona Toolkit (pt-online-schema-change)', found, say);
}

/** A TCP port on 127.0.0.1 that nothing listens on (just released by the OS): for a server to start on, or to be refused by. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

export interface LocalMariaDbOptions {
  readonly password?: string;
  readonly bufferPoolMb?: number;
  /** Durable commits (1) as in production, or the faster 2 for tests. */
  readonly flushLogAtTrxCommit?: 0 | 1 | 2;
  /** More server options, e.g. --local-infile=1 for pt-archiver --bulk-insert. */
  readonly extraArgs?: readonly string[];
  /** Bench only: a datadir kept across runs (initialised when it has no system tables yet); stop() leaves it in place. */
  readonly datadir?: string;
}

export async function startLocalMariaDb(options: LocalMariaDbOptions = {}): Promise<LocalMariaDb & RestartableMariaDb & { readonly datadir: string }> {
  const bins = findMariaDbBinaries();
  if (!bins) throw new Error('MariaDB server not found (mariadbd). Install it with:\n  sudo apt-get install -y mariadb-server');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dbmaint-mariadb-'));
  const datadir = options.datadir !== undefined ? path.resolve(options.datadir) : path.join(dir, 'data');
  const socket = path.join(dir, 'mysqld.sock');
  const userArgs = isRoot ? ['--user=root'] : [];
  // A private tmpdir: servers bootstrapped at the same moment (parallel test files) must not share /tmp's temporary tables.
  const tmpdir = path.join(dir, 'tmp');
  mkdirSync(tmpdir);
  if (!existsSync(path.join(datadir, 'mysql'))) {
    const init = spawnSync(
      bins.installDb,
      ['--no-defaults', `--datadir=${datadir}`, `--tmpdir=${tmpdir}`, '--auth-root-authentication-method=normal', '--skip-test-db', ...userArgs],
      { encoding: 'utf8' },
    );
    if (init.status !== 0) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`mariadb-install-db failed (${init.status}): ${init.stderr || init.stdout}`);
    }
  }
  const port = await freePort();
  const errorLog = path.join(dir, 'error.log');
  const serverArgs = [
    '--no-defaults',
    `--datadir=${datadir}`,
    `--tmpdir=${tmpdir}`,
    `--socket=${socket}`,
    `--port=${port}`,
    '--bind-address=127.0.0.1',
    `--pid-file=${path.join(dir, 'mysqld.pid')}`,
    `--log-error=${errorLog}`,
    '--skip-name-resolve',
    '--skip-log-bin',
    `--innodb-buffer-pool-size=${options.bufferPoolMb ?? 256}M`,
    '--innodb-log-file-size=128M',
    // Test and demo data only: trade durability for speed unless asked otherwise.
    `--innodb-flush-log-at-trx-commit=${options.flushLogAtTrxCommit ?? 2}`,
    '--max-connections=200',
    ...(options.extraArgs ?? []),
    ...userArgs,
  ];
  // The running server process (replaced by restart()).
  let child!: ChildProcess;
  let exited = false;
  const launch = () => {
    child = spawn(bins.server, serverArgs, { stdio: 'ignore', detached: false });
    exited = false;
    const me = child;
    me.once('exit', () => {
      if (child === me) exited = true;
    });
  };
  /** Wait until the server accepts connections; an admin connection over the socket. */
  const connect = async (): Promise<mysql.Connection> => {
    const started = Date.now();
    for (;;) {
      if (exited) {
        const log = existsSync(errorLog) ? readFileSync(errorLog, 'utf8').slice(-2000) : '';
        throw new Error(`mariadbd exited during start-up:\n${log}`);
      }
      try {
        return await mysql.createConnection({ socketPath: socket, user: 'root' });
      } catch {
        if (Date.now() - started > 60_000) {
          child.kill('SIGKILL');
          throw new Error('mariadbd did not accept connections within 60 s');
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  const halt = async (signal: 'SIGKILL' | 'SIGTERM') => {
    if (exited) return;
    const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await done;
    clearTimeout(timer);
  };

  launch();
  let admin: mysql.Connection;
  try {
    admin = await connect();
  } catch (err) {
    if (exited) rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const password = options.password ?? 'dbmaint-local';
  await admin.query(`CREATE USER IF NOT EXISTS 'dbmaint'@'%' IDENTIFIED BY ${admin.escape(password)}`);
  await admin.query(`GRANT ALL PRIVILEGES ON *.* TO 'dbmaint'@'%' WITH GRANT OPTION`);
  await admin.end();

  const stop = async () => {
    await halt('SIGTERM');
    // A kept datadir lives outside `dir`: only the socket, pid file and error log go.
    rmSync(dir, { recursive: true, force: true });
  };
  // Test-only: see RestartableMariaDb.
  const restart = async (opts: { readonly signal?: 'SIGKILL' | 'SIGTERM' } = {}) => {
    await halt(opts.signal ?? 'SIGKILL');
    launch();
    await (await connect()).end();
  };
  return { url: `mysql://dbmaint:${encodeURIComponent(password)}@127.0.0.1:${port}/`, port, socket, dir, datadir, stop, restart };
}
