// Throttling between chunks: wait while the server is busy or replicas lag (pt-archiver --check-slave-lag, gh-ost throttling).
import type { DbSession } from '../db/connection';
import type { Deadline } from '../runtime/deadline';
import type { Log } from '../runtime/log';

export interface LoadProbe {
  /** A reason to wait, or undefined when it is fine to go on. */
  check(): Promise<string | undefined>;
}

async function threadsRunning(db: DbSession): Promise<number> {
  const rows = await db.query<{ Variable_name: string; Value: string }>("SHOW GLOBAL STATUS LIKE 'Threads_running'");
  return Number(rows[0]?.Value ?? 0);
}

export function threadsRunningProbe(db: DbSession, max: number): LoadProbe {
  return {
    async check() {
      const n = await threadsRunning(db);
      // Our own session counts as running while it asks.
      return n - 1 > max ? `Threads_running ${n - 1} > ${max}` : undefined;
    },
  };
}

/** Seconds_Behind_Source (MySQL 8) / Seconds_Behind_Master (MariaDB); null means replication is not running. */
export function replicaLagFromStatus(row: Record<string, unknown> | undefined): number | null | undefined {
  if (!row) return undefined; // not a replica
  const v = row['Seconds_Behind_Source'] ?? row['Seconds_Behind_Master'];
  return v === null || v === undefined ? null : Number(v);
}

/** SHOW REPLICA STATUS (MySQL 8.0.22+, MariaDB 10.5.1+), or the SLAVE spelling older MySQL 8.0 knows; undefined when the node is no replica. */
export async function replicaStatus(session: DbSession): Promise<Record<string, unknown> | undefined> {
  const rows = await session.query<Record<string, unknown>>('SHOW REPLICA STATUS').catch(() => session.query<Record<string, unknown>>('SHOW SLAVE STATUS'));
  return rows[0];
}

/** Lag measured on replica sessions (each opened with a read-only user). */
export function replicaLagProbe(replicas: readonly { name: string; session: DbSession }[], maxSeconds: number): LoadProbe {
  return {
    async check() {
      for (const r of replicas) {
        const lag = replicaLagFromStatus(await replicaStatus(r.session));
        if (lag === null) return `replica ${r.name}: replication is not running`;
        if (lag !== undefined && lag > maxSeconds) return `replica ${r.name} lags ${lag} s > ${maxSeconds} s`;
      }
      return undefined;
    },
  };
}

/** Aurora MySQL: reader lag from information_schema.REPLICA_HOST_STATUS, readable on the writer. */
export function auroraLagProbe(db: DbSession, maxSeconds: number): LoadProbe {
  return {
    async check() {
      const rows = await db.query<{ lagMs: number | null }>(
        `SELECT MAX(REPLICA_LAG_IN_MILLISECONDS) AS lagMs FROM information_schema.REPLICA_HOST_STATUS
          WHERE SESSION_ID <> 'MASTER_SESSION_ID' AND LAST_UPDATE_TIMESTAMP > NOW() - INTERVAL 5 MINUTE`,
      );
      const lag = Number(rows[0]?.lagMs ?? 0) / 1000;
      return lag > maxSeconds ? `Aurora replica lag ${lag.toFixed(1)} s > ${maxSeconds} s` : undefined;
    },
  };
}

/**
 * Checks the probes and sleeps while any of them says wait, up to the deadline.
 * Returns the seconds spent waiting; `stopped` is true when the deadline came first.
 */
export class Throttle {
  throttledSeconds = 0;
  private lastClear = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly probes: readonly LoadProbe[],
    private readonly log: Log,
    private readonly pollMs = 500,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
    /** After a clear check, trust it this long: status queries are not free on a busy server. */
    private readonly recheckMs = 1000,
  ) {}

  async wait(deadline: Deadline, reserveMs: number): Promise<{ stopped: boolean }> {
    if (Date.now() - this.lastClear < this.recheckMs) return { stopped: false };
    let started: number | undefined;
    let lastReason: string | undefined;
    for (;;) {
      let reason: string | undefined;
      for (const p of this.probes) {
        reason = await p.check();
        if (reason) break;
      }
      if (!reason) break;
      if (started === undefined) {
        started = Date.now();
        this.log.info('throttling', { reason });
      } else if (reason !== lastReason) this.log.info('still throttling', { reason });
      lastReason = reason;
      if (deadline.isNear(reserveMs + this.pollMs)) {
        this.throttledSeconds += (Date.now() - started) / 1000;
        return { stopped: true };
      }
      await this.sleep(this.pollMs);
    }
    this.lastClear = Date.now();
    if (started !== undefined) {
      const waited = (Date.now() - started) / 1000;
      this.throttledSeconds += waited;
      this.log.info('throttle released', { waitedSeconds: Math.round(waited * 10) / 10 });
    }
    return { stopped: false };
  }
}
