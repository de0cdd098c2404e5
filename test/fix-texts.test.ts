// Statement texts a DBA copies (issue 16, finding 10): every recommendation `fix` and preflight GRANT runs as printed and
// with a `;` appended, in the mariadb client, on real MariaDB; no `-- ` comment can swallow that `;`.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupRuleSchema, recommendationSettingsSchema } from '../lib/config/schema';
import { openSession, type DbSession } from '../lib/db/connection';
import { credentialsFromUrl } from '../lib/db/credentials';
import { preflight } from '../lib/maintenance/preflight';
import { generateRecommendations } from '../lib/recommend/generate';
import { cleanupRule } from '../lib/retention/rules';
import { adminConnection, freshSchema, serverUrl, testConfig, testTarget } from './support/db';
import { sqlTextShape } from './support/sql-text';
import { repoRoot } from './support/synth';

const S = 'fixtext_t';
const USER = 'fixtext_ro';
const SESSION = { lockWaitTimeoutSeconds: 5, innodbLockWaitTimeoutSeconds: 5, connectTimeoutSeconds: 5 };
let admin: mysql.Connection;
let db: DbSession;

/** The checks' statement texts, each with what produced it. */
const fixes: { from: string; sql: string }[] = [];

function q(sql: string, params: unknown[] = []) {
  return admin.query(sql, params);
}

/** `sql` through the mariadb command-line client, as a DBA pastes it: returns its exit status and output. */
function client(sql: string): { status: number | null; out: string } {
  const c = credentialsFromUrl(serverUrl());
  const bin = ['mariadb', 'mysql'].find((b) => spawnSync(b, ['--version']).status === 0);
  if (!bin) throw new Error('the mariadb client is not installed (apt-get install mariadb-client)');
  const run = spawnSync(bin, ['--batch', '-h', c.host, '-P', String(c.port), '-u', c.user, `-p${c.password}`, S], { input: sql, encoding: 'utf8' });
  return { status: run.status, out: `${run.stdout}${run.stderr}` };
}

/** Tables that make each check with a fix speak, and the preflight of a user missing grants. */
beforeAll(async () => {
  admin = await adminConnection();
  await freshSchema(admin, S);
  await q(`USE ${S}`);
  // Fragmented: InnoDB, InnoDB with FULLTEXT (LOCK=SHARED), MyISAM (OPTIMIZE TABLE); 90% deleted, then analyzed.
  await q(`CREATE TABLE frag_innodb (id INT PRIMARY KEY, pad VARCHAR(200) NOT NULL) ENGINE=InnoDB`);
  await q(`CREATE TABLE frag_fulltext (id INT PRIMARY KEY, pad VARCHAR(200) NOT NULL, FULLTEXT KEY ft_pad (pad)) ENGINE=InnoDB`);
  await q(`CREATE TABLE frag_myisam (id INT PRIMARY KEY, pad VARCHAR(200) NOT NULL) ENGINE=MyISAM`);
  for (const t of ['frag_innodb', 'frag_fulltext', 'frag_myisam']) {
    await q(`INSERT INTO ${t} SELECT seq, REPEAT('x', 200) FROM seq_1_to_20000`);
    await q(`DELETE FROM ${t} WHERE id % 10 <> 0`);
    await q(`ANALYZE TABLE ${t}`);
  }
  // AUTO_INCREMENT past 90% of INT.
  await q('CREATE TABLE ai_near (id INT AUTO_INCREMENT PRIMARY KEY) ENGINE=InnoDB AUTO_INCREMENT=2000000001');
  // No primary key: clustered on a unique key; with an `id` column; with neither.
  await q('CREATE TABLE nopk_uk (code INT NOT NULL, v INT, UNIQUE KEY uk_code (code)) ENGINE=InnoDB');
  await q('CREATE TABLE nopk_id (id INT, v INT) ENGINE=InnoDB');
  await q('INSERT INTO nopk_id VALUES (1, 1), (2, 2)');
  await q('CREATE TABLE nopk_plain (a INT, b INT) ENGINE=InnoDB');
  // Duplicate and redundant indexes, on InnoDB (online drop) and MyISAM.
  await q('CREATE TABLE dup_innodb (id INT PRIMARY KEY, a INT, b INT, KEY ix_a1 (a), KEY ix_a2 (a), KEY ix_b (b), KEY ix_b_a (b, a)) ENGINE=InnoDB');
  await q('CREATE TABLE dup_myisam (id INT PRIMARY KEY, a INT, KEY ix_a1 (a), KEY ix_a2 (a)) ENGINE=MyISAM');
  // Never-collected statistics, and a retention rule whose date column has no index.
  await q('CREATE TABLE stale (id INT PRIMARY KEY) ENGINE=InnoDB');
  await q(`DELETE FROM mysql.innodb_table_stats WHERE database_name = ? AND table_name = 'stale'`, [S]);
  await q('CREATE TABLE events (id INT PRIMARY KEY, created_at DATETIME NOT NULL) ENGINE=InnoDB');
  await q('CREATE TABLE events_pf (id INT PRIMARY KEY, created_at DATETIME NOT NULL) ENGINE=InnoDB');

  db = await openSession(credentialsFromUrl(serverUrl()), SESSION);
  const target = testConfig([S]).targets[0]!;
  const rules = [cleanupRule(target, cleanupRuleSchema.parse({ table: 'events', dateColumn: 'created_at', retentionDays: 30, action: 'delete' }))];
  const r = await generateRecommendations(db, {
    schemas: [S],
    target: 'fixtext',
    settings: recommendationSettingsSchema.parse({ connectionsWarningPercent: 1 }),
    thresholds: { fragmentationPercent: 30, optimizeMinSizeMb: 0, analyzeAfterDays: 7, analyzeModifiedPercent: 5, analyzeBehindQuerySeconds: 5 },
    retentionRules: rules,
    historySchema: `${S}_hist`,
    growthWindowDays: 30,
    minHistoryHours: 12,
    now: new Date(),
  });
  for (const item of r.items) if (item.fix !== undefined) fixes.push({ from: `${item.code} ${item.object}`, sql: item.fix });

  // Preflight as a user with SELECT only: every capability is missing grants (and the rule its index).
  await q(`DROP USER IF EXISTS '${USER}'@'%'`);
  await q(`CREATE USER '${USER}'@'%' IDENTIFIED BY 'fixtext-pass'`);
  await q(`GRANT SELECT ON ${S}.* TO '${USER}'@'%'`);
  const limited = await openSession({ ...credentialsFromUrl(serverUrl()), user: USER, password: 'fixtext-pass' }, SESSION);
  try {
    const config = testConfig([S], {
      targets: [
        testTarget([S], {
          cleanupRules: [
            { table: 'events_pf', dateColumn: 'created_at', retentionDays: 30, action: 'delete' },
            { table: 'frag_innodb', dateColumn: 'id', retentionDays: 30, action: 'archive' },
          ],
        }),
      ],
    });
    const pf = await preflight(limited, config, config.targets[0]!);
    for (const c of pf.capabilities) for (const f of c.fix) fixes.push({ from: `preflight ${c.capability}`, sql: f });
  } finally {
    await limited.close();
  }
});

afterAll(async () => {
  await db?.close();
  await q(`DROP USER IF EXISTS '${USER}'@'%'`);
  await admin.end();
});

describe('fix texts', () => {
  it('the scenario produces a fix from every check that has one, in each of its forms', () => {
    const produced = fixes.map((f) => f.from);
    for (const expected of [
      `FRAGMENTED_TABLE ${S}.frag_innodb`,
      `FRAGMENTED_TABLE ${S}.frag_fulltext`,
      `FRAGMENTED_TABLE ${S}.frag_myisam`,
      `AUTO_INCREMENT_EXHAUSTION ${S}.ai_near`,
      `NO_PRIMARY_KEY ${S}.nopk_uk`,
      `NO_PRIMARY_KEY ${S}.nopk_id`,
      `NO_PRIMARY_KEY ${S}.nopk_plain`,
      `NON_INNODB_TABLE ${S}.frag_myisam`,
      `DUPLICATE_INDEX ${S}.dup_innodb.ix_a2`,
      `DUPLICATE_INDEX ${S}.dup_myisam.ix_a2`,
      `REDUNDANT_INDEX ${S}.dup_innodb.ix_b`,
      `STALE_STATISTICS ${S}.stale`,
      `RETENTION_DATE_UNINDEXED ${S}.events`,
      'CONNECTION_USAGE server',
      'preflight run-log',
      'preflight analyze',
      'preflight purge',
      'preflight archive',
      'preflight rebuild',
    ]) {
      expect(produced).toContain(expected);
    }
  });

  it('no line comment, no second statement, no executable comment, nothing left open', () => {
    for (const f of fixes) {
      const shape = sqlTextShape(f.sql);
      const inside = shape.semicolons.filter((at) => f.sql.slice(at + 1).trim() !== '');
      expect({ from: f.from, lineComments: shape.lineComments, innerSemicolons: inside, executable: shape.executableComments, open: shape.unterminated }).toEqual({
        from: f.from,
        lineComments: [],
        innerSemicolons: [],
        executable: [],
        open: null,
      });
    }
  });

  it('each parses on MariaDB as printed (PREPARE: parsed and resolved, not run)', async () => {
    for (const f of fixes) {
      const err = await db.exec('PREPARE dbmaint_fix FROM ?', [f.sql]).then(
        () => null,
        (e: unknown) => (e as Error).message,
      );
      expect({ from: f.from, sql: f.sql, err }).toEqual({ from: f.from, sql: f.sql, err: null });
    }
    await db.exec('DEALLOCATE PREPARE dbmaint_fix');
  });

  it("each runs in the mariadb client with the DBA's `;` appended, and the next statement still runs", async () => {
    const [[before]] = await q('SELECT @@GLOBAL.max_connections AS m') as [mysql.RowDataPacket[], unknown];
    try {
      for (const f of fixes) {
        const run = client(`${f.sql};\nSELECT 'after-the-fix' AS marker;\n`);
        expect({ from: f.from, sql: f.sql, status: run.status, out: run.out }).toEqual({ from: f.from, sql: f.sql, status: 0, out: expect.stringContaining('after-the-fix') });
      }
    } finally {
      await q('SET GLOBAL max_connections = ?', [Number(before!['m'])]);
    }
  });

  it('the checks\' sources hold no `-- ` comment in a statement text (also the branches this server cannot produce, e.g. UNUSED_INDEX)', () => {
    const dir = path.join(repoRoot, 'lib/recommend/checks');
    const files = [...readdirSync(dir).map((f) => path.join(dir, f)), path.join(repoRoot, 'lib/maintenance/preflight.ts')];
    const hits = files.flatMap((file) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .map((line, n) => ({ where: `${path.relative(repoRoot, file)}:${n + 1}`, code: line.replace(/^\s*(\/\/|\*|\/\*).*$/, '') }))
        .filter((l) => /--\s|--['`]/.test(l.code)),
    );
    expect(hits).toEqual([]);
  });
});
