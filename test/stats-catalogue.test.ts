// readTableSizes against a real MariaDB: how it reads the catalogue (table opens, statements) and what it reads from where.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type mysql from 'mysql2/promise';
import { openSession, type DbSession } from '../lib/db/connection';
import { credentialsFromUrl } from '../lib/db/credentials';
import { readTableSizes, type TableSize } from '../lib/stats/sizes';
import { adminConnection, freshSchema, serverUrl } from './support/db';

const SCHEMA = 'stats_cat';
const PLAIN = 'stats_cat_plain';
const PARTS = 'stats_cat_parts';
const ONE = 'stats_cat_one';
const NO_PROCESS_USER = 'stats_cat_np';
const PLAIN_TABLES = 12;
const PARTITIONS = 1001;
const SESSION = { lockWaitTimeoutSeconds: 5, innodbLockWaitTimeoutSeconds: 5, connectTimeoutSeconds: 5 };
let admin: mysql.Connection;
let db: DbSession;

async function sessionOpens(s: DbSession): Promise<number> {
  const rows = await s.query<{ v: string }>(
    "SELECT VARIABLE_VALUE AS v FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME IN ('TABLE_OPEN_CACHE_HITS', 'TABLE_OPEN_CACHE_MISSES')",
  );
  return rows.reduce((n, r) => n + Number(r.v), 0);
}

/** The statements `fn` runs on `s`, counted. */
async function countingStatements<T>(s: DbSession, fn: () => Promise<T>): Promise<{ result: T; statements: number }> {
  const query = s.query.bind(s);
  let statements = 0;
  s.query = (async (sql: string, params?: readonly unknown[]) => {
    statements++;
    return query(sql, params);
  }) as DbSession['query'];
  try {
    return { result: await fn(), statements };
  } finally {
    s.query = query;
  }
}

const byName = (tables: readonly TableSize[]) => new Map(tables.map((t) => [t.table, t]));

beforeAll(async () => {
  admin = await adminConnection();
  for (const s of [SCHEMA, PLAIN, PARTS, ONE]) await freshSchema(admin, s);
  const ddl: string[] = [];
  for (let i = 1; i <= PLAIN_TABLES; i++) {
    ddl.push(`CREATE TABLE \`${PLAIN}\`.plain_${i} (id INT AUTO_INCREMENT PRIMARY KEY, a INT NOT NULL, b VARCHAR(20) NOT NULL, KEY ix_a (a), KEY ix_b (b)) ENGINE=InnoDB`);
  }
  ddl.push(
    `CREATE TABLE \`${SCHEMA}\`.plain_1 (id INT AUTO_INCREMENT PRIMARY KEY, a INT NOT NULL, b VARCHAR(20) NOT NULL, KEY ix_a (a), KEY ix_b (b)) ENGINE=InnoDB`,
    `CREATE TABLE \`${SCHEMA}\`.ft_innodb (id INT PRIMARY KEY, body TEXT, FULLTEXT KEY ft (body)) ENGINE=InnoDB`,
    `CREATE TABLE \`${SCHEMA}\`.sp_innodb (id INT PRIMARY KEY, p POINT NOT NULL, SPATIAL KEY sp (p)) ENGINE=InnoDB`,
    `CREATE TABLE \`${SCHEMA}\`.ft_myisam (id INT PRIMARY KEY, body TEXT, FULLTEXT KEY ft (body)) ENGINE=MyISAM`,
    `CREATE TABLE \`${SCHEMA}\`.plain_aria (id INT PRIMARY KEY, a INT, KEY ix_a (a)) ENGINE=Aria`,
    `CREATE TABLE \`${SCHEMA}\`.heap (id INT PRIMARY KEY, v VARCHAR(10), KEY kv (v) USING HASH) ENGINE=MEMORY`,
    `CREATE TABLE \`${PARTS}\`.p (id INT NOT NULL PRIMARY KEY) ENGINE=InnoDB PARTITION BY HASH (id) PARTITIONS ${PARTITIONS}`,
    `CREATE TABLE \`${ONE}\`.t (id INT NOT NULL PRIMARY KEY) ENGINE=InnoDB`,
  );
  await admin.query(ddl.map((d) => `${d};`).join('\n'));
  await admin.query(`DROP USER IF EXISTS ?@'%'`, [NO_PROCESS_USER]);
  await admin.query(`CREATE USER ?@'%' IDENTIFIED BY 'np-pass'`, [NO_PROCESS_USER]);
  await admin.query(`GRANT SELECT ON \`${SCHEMA}\`.* TO ?@'%'`, [NO_PROCESS_USER]);
  db = await openSession(credentialsFromUrl(serverUrl()), SESSION, 'disabled');
}, 120_000);

afterAll(async () => {
  await db?.close();
  await admin.query(`DROP USER IF EXISTS ?@'%'`, [NO_PROCESS_USER]);
  for (const s of [SCHEMA, PLAIN, PARTS, ONE]) await admin.query(`DROP DATABASE IF EXISTS \`${s}\``);
  await admin.end();
}, 120_000);

describe('readTableSizes: catalogue reads', () => {
  it('opens each table once (information_schema.TABLES); index counts and types come from the .frm and the dictionary', async () => {
    // Above table_open_cache every open is a reopen from disk: a second pass over the tables (STATISTICS.INDEX_TYPE) doubled it.
    const opensFor = async (schema: string) => {
      const before = await sessionOpens(db);
      const tables = await readTableSizes(db, { schemas: [schema] });
      return { tables: tables.length, opens: (await sessionOpens(db)) - before };
    };
    await opensFor(ONE); // the session's first opens of the statistics tables count more
    const small = await opensFor(ONE);
    const large = await opensFor(PLAIN);
    expect([small.tables, large.tables]).toEqual([1, PLAIN_TABLES]);
    // The statistics tables' opens are the same for both: what grows with the tables is one open each.
    expect((large.opens - small.opens) / (large.tables - small.tables)).toBe(1);
  });

  it('flags FULLTEXT and SPATIAL indexes of InnoDB (dictionary) and other engines (INDEX_TYPE), and counts indexes as SQL sees them', async () => {
    const t = byName(await readTableSizes(db, { schemas: [SCHEMA] }));
    const flags = Object.fromEntries([...t].map(([name, s]) => [name, [s.indexCount, s.hasFulltextOrSpatial]]));
    expect(flags).toMatchObject({
      ft_innodb: [2, true], // PRIMARY and ft; InnoDB's hidden FTS_DOC_ID_INDEX is not an index the user has
      sp_innodb: [2, true],
      ft_myisam: [2, true],
      plain_aria: [2, false],
      heap: [2, false],
      plain_1: [3, false],
    });
  });

  it('without PROCESS (dictionary closed): the same index counts and flags, from STATISTICS.INDEX_TYPE', async () => {
    const withProcess = byName(await readTableSizes(db, { schemas: [SCHEMA] }));
    const c = credentialsFromUrl(serverUrl());
    const np = await openSession({ ...c, user: NO_PROCESS_USER, password: 'np-pass' }, SESSION, 'disabled');
    try {
      const without = byName(await readTableSizes(np, { schemas: [SCHEMA] }));
      expect([...without.keys()].sort()).toEqual([...withProcess.keys()].sort());
      for (const [name, s] of without) {
        expect([name, s.indexCount, s.hasFulltextOrSpatial]).toEqual([name, withProcess.get(name)!.indexCount, withProcess.get(name)!.hasFulltextOrSpatial]);
        expect(s.fileBytes).toBeNull();
      }
    } finally {
      await np.close();
    }
  });

  it('reads each dictionary view once, however many tablespaces (a lookup per 1,000 ids rescanned the view each time)', async () => {
    const one = await countingStatements(db, () => readTableSizes(db, { schemas: [ONE] }));
    const parts = await countingStatements(db, () => readTableSizes(db, { schemas: [PARTS] }));
    expect(parts.statements).toBe(one.statements);
    // The partitions' files, summed onto their table.
    const [p] = parts.result;
    const files = await db.query<{ n: number; bytes: number }>(
      'SELECT COUNT(*) AS n, SUM(FILE_SIZE) AS bytes FROM information_schema.INNODB_SYS_TABLESPACES WHERE NAME LIKE ?',
      [`${PARTS}/p#P#%`],
    );
    expect(Number(files[0]!.n)).toBe(PARTITIONS);
    expect(p).toMatchObject({ table: 'p', sharedTablespace: false, fileBytes: Number(files[0]!.bytes) });
  });
});
