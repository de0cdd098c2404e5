// Test tables for the retention engine: integer-key and CHAR-key tables with a known share of expired rows.
import type mysql from 'mysql2/promise';

export interface RetentionTables {
  /** The first column `n` of the first row of `sql`. */
  count(sql: string, params?: unknown[]): Promise<number>;
  /** `n` rows, ids 1..n; half of them 40 days old (older than the 30-day retention), the rest 1 day. */
  intTable(name: string, n: number, correlated?: boolean): Promise<void>;
  /** `n` rows keyed by SHA1(seq), about half of them 40 days old. */
  charTable(name: string, n: number): Promise<void>;
}

export function retentionTables(admin: () => mysql.Connection, schema: string): RetentionTables {
  const count = async (sql: string, params: unknown[] = []): Promise<number> => {
    const [rows] = await admin().query<mysql.RowDataPacket[]>(sql, params);
    return Number(rows[0]!['n']);
  };
  return {
    count,
    async intTable(name, n, correlated = true) {
      await admin().query(`DROP TABLE IF EXISTS ${schema}.${name}, ${schema}.${name}_archive`);
      await admin().query(`CREATE TABLE ${schema}.${name} (
          id BIGINT AUTO_INCREMENT PRIMARY KEY, user_id INT NOT NULL, created_at DATETIME NOT NULL, payload VARCHAR(100) NOT NULL,
          KEY ix_created (created_at), KEY ix_user (user_id)) ENGINE=InnoDB`);
      // correlated: dates rise with the id (old rows first); otherwise old and new rows alternate.
      const age = correlated ? `IF(seq <= ${n / 2}, 40, 1)` : 'IF(seq % 2 = 0, 40, 1)';
      await admin().query(
        `INSERT INTO ${schema}.${name} (user_id, created_at, payload)
         SELECT seq % 100, UTC_TIMESTAMP() - INTERVAL ${age} DAY - INTERVAL seq SECOND, REPEAT('p', 50) FROM seq_1_to_${n}`,
      );
    },
    async charTable(name, n) {
      await admin().query(`DROP TABLE IF EXISTS ${schema}.${name}`);
      await admin().query(`CREATE TABLE ${schema}.${name} (
          session_key CHAR(40) NOT NULL PRIMARY KEY, session_data TEXT NOT NULL, created_at DATETIME(6) NOT NULL, KEY ix_created (created_at)) ENGINE=InnoDB`);
      await admin().query(
        `INSERT INTO ${schema}.${name} SELECT SHA1(seq), REPEAT('d', 100), UTC_TIMESTAMP() - INTERVAL IF(CRC32(seq) % 2 = 0, 40, 1) DAY FROM seq_1_to_${n}`,
      );
    },
  };
}
