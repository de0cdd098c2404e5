// Alert de-duplication: when each condition was last mailed, per target, so an alert repeats at most once a period.
import { createHash } from 'node:crypto';
import type { DbSession } from '../db/connection';
import { qualifiedName, quoteIdentifier } from '../db/identifiers';
import type { AlertCondition } from './report-data';
import type { StoreSpec } from '../runlog/store-access';

const ALERT_STATE_TABLE = 'alert_state';

const KEY_CHARS = 255;

function alertStateDdl(schema: string): string[] {
  // Binary collation: keys hold table names, which are case-sensitive on Linux servers;
  // `rec:X:shop.Orders` and `rec:X:shop.orders` are two conditions.
  return [
    `CREATE DATABASE IF NOT EXISTS ${quoteIdentifier(schema)}`,
    `CREATE TABLE IF NOT EXISTS ${qualifiedName(schema, ALERT_STATE_TABLE)} (
  target VARCHAR(64) NOT NULL,
  condition_key VARCHAR(${KEY_CHARS}) NOT NULL,
  last_sent_at DATETIME(6) NOT NULL,
  PRIMARY KEY (target, condition_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
  ];
}

/**
 * The key as stored. A key that does not fit the column (a slow-statement digest text can be
 * long) or that ends in white space (ignored by PAD SPACE comparison) is stored as its start plus
 * a SHA-256 of the whole key, so it stays unique and never fails the insert.
 */
export function storedConditionKey(key: string): string {
  const chars = [...key];
  if (chars.length <= KEY_CHARS && !/\s$/u.test(key)) return key;
  const hash = createHash('sha256').update(key, 'utf8').digest('hex');
  return `${chars.slice(0, KEY_CHARS - hash.length - 1).join('')}#${hash}`;
}

function upsertSql(schema: string, rows: number): string {
  return `INSERT INTO ${qualifiedName(schema, ALERT_STATE_TABLE)} (target, condition_key, last_sent_at)
       VALUES ${Array.from({ length: rows }, () => '(?, ?, ?)').join(', ')}
       ON DUPLICATE KEY UPDATE last_sent_at = VALUES(last_sent_at)`;
}

export function alertStateStore(schema: string, target: string): StoreSpec {
  return {
    store: 'alert state',
    schema,
    tables: [ALERT_STATE_TABLE],
    ddl: alertStateDdl(schema),
    writePrivileges: ['SELECT', 'INSERT', 'UPDATE'],
    consequence: 'alerts are not de-duplicated: every run mails every condition it finds',
    async probe(db) {
      await db.query(`SELECT condition_key FROM ${qualifiedName(schema, ALERT_STATE_TABLE)} WHERE target = ? LIMIT 0`, [target]);
      await db.exec(upsertSql(schema, 1), [target, 'probe (rolled back)', new Date()]);
    },
  };
}

export class AlertState {
  constructor(
    private readonly db: DbSession,
    private readonly schema: string,
    private readonly target: string,
  ) {}

  get tableName(): string {
    return `${this.schema}.${ALERT_STATE_TABLE}`;
  }

  async prepare(): Promise<void> {
    for (const ddl of alertStateDdl(this.schema)) await this.db.exec(ddl);
  }

  /** As a store: created if missing; the read of `due` and the upsert of `markSent` probed (rolled back). */
  store(): StoreSpec {
    return alertStateStore(this.schema, this.target);
  }

  /**
   * The conditions not mailed within the last `periodHours` before `now` (each key once, in
   * the given order). A condition last sent exactly `periodHours` ago is due again.
   */
  async due(conditions: readonly AlertCondition[], periodHours: number, now: Date): Promise<AlertCondition[]> {
    if (!(periodHours >= 0)) throw new RangeError(`alert period must be 0 hours or more (got ${periodHours})`);
    const unique = [...new Map(conditions.map((c) => [c.key, c] as const)).values()];
    if (unique.length === 0) return [];
    const keys = [...new Set(unique.map((c) => storedConditionKey(c.key)))];
    const rows = await this.db.query<{ condition_key: string; last_sent_at: Date }>(
      `SELECT condition_key, last_sent_at FROM ${qualifiedName(this.schema, ALERT_STATE_TABLE)}
        WHERE target = ? AND condition_key IN (${keys.map(() => '?').join(', ')})`,
      [this.target, ...keys],
    );
    const lastSent = new Map(rows.map((r) => [r.condition_key, r.last_sent_at.getTime()]));
    const cutoff = now.getTime() - periodHours * 3_600_000;
    return unique.filter((c) => {
      const at = lastSent.get(storedConditionKey(c.key));
      return at === undefined || at <= cutoff;
    });
  }

  /** Record that these conditions were mailed at `now` (call after the mail went out). */
  async markSent(keys: readonly string[], now: Date): Promise<void> {
    const stored = [...new Set(keys.map(storedConditionKey))];
    if (stored.length === 0) return;
    await this.db.exec(
      upsertSql(this.schema, stored.length),
      stored.flatMap((k) => [this.target, k, now]),
    );
  }
}
