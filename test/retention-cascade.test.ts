// Delete rules over foreign keys against real MariaDB: CASCADE / SET NULL children refused without opt-in, counted exactly with it.
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../lib/config/load';
import { UrlCredentialSource } from '../lib/db/credentials';
import type { MetricPoint } from '../lib/metrics/names';
import { Deadline } from '../lib/runtime/deadline';
import { silentLog } from '../lib/runtime/log';
import type { RetentionResult } from '../lib/tasks/retention-task';
import { digestOf } from '../lib/reporting/digest';
import { renderTaskSummary } from '../lib/reporting/text-summary';
import { runTask } from '../lib/tasks/registry';
import { adminConnection, freshSchema, serverUrl, testConfig, testTarget } from './support/db';
import { rule, run, session } from './support/retention';
import { interceptStatements, type StatementEvent } from './support/statement-interceptor';

const S = 'ret_cascade';
let admin: mysql.Connection;

async function count(sql: string): Promise<number> {
  const [rows] = await admin.query<mysql.RowDataPacket[]>(sql);
  return Number(rows[0]!['n']);
}

/**
 * `parent` with 990 rows 90 days old and 10 from today; `child` (ON DELETE <onDelete>) with 3 rows per parent, all
 * created today; optionally `grandchild` (CASCADE from child, 2 per child) and `noted` (SET NULL, 1 per even parent).
 */
async function family(onDelete: string, more = false): Promise<void> {
  await admin.query(`DROP TABLE IF EXISTS ${S}.pinned, ${S}.grandchild, ${S}.noted, ${S}.child, ${S}.parent`);
  await admin.query(`CREATE TABLE ${S}.parent (id INT PRIMARY KEY, created_at DATETIME NOT NULL, KEY ix_created (created_at)) ENGINE=InnoDB`);
  await admin.query(`CREATE TABLE ${S}.child (id INT PRIMARY KEY, parent_id INT ${onDelete === 'SET NULL' ? 'NULL' : 'NOT NULL'}, created_at DATETIME NOT NULL,
      CONSTRAINT fk_child FOREIGN KEY (parent_id) REFERENCES ${S}.parent (id) ON DELETE ${onDelete}) ENGINE=InnoDB`);
  await admin.query(`INSERT INTO ${S}.parent SELECT seq, UTC_TIMESTAMP() - INTERVAL IF(seq <= 990, 90, 0) DAY FROM seq_1_to_1000`);
  await admin.query(`INSERT INTO ${S}.child SELECT seq, 1 + (seq - 1) DIV 3, UTC_TIMESTAMP() FROM seq_1_to_3000`);
  if (more) {
    await admin.query(`CREATE TABLE ${S}.grandchild (id INT PRIMARY KEY, child_id INT NOT NULL,
        CONSTRAINT fk_grand FOREIGN KEY (child_id) REFERENCES ${S}.child (id) ON DELETE CASCADE) ENGINE=InnoDB`);
    await admin.query(`CREATE TABLE ${S}.noted (id INT PRIMARY KEY, parent_id INT NULL,
        CONSTRAINT fk_noted FOREIGN KEY (parent_id) REFERENCES ${S}.parent (id) ON DELETE SET NULL) ENGINE=InnoDB`);
    await admin.query(`INSERT INTO ${S}.grandchild SELECT seq, 1 + (seq - 1) DIV 2 FROM seq_1_to_6000`);
    await admin.query(`INSERT INTO ${S}.noted SELECT seq, seq * 2 FROM seq_1_to_500`);
  }
}

const tables = async () => ({
  parent: await count(`SELECT COUNT(*) n FROM ${S}.parent`),
  child: await count(`SELECT COUNT(*) n FROM ${S}.child`),
  grandchild: await count(`SELECT COUNT(*) n FROM ${S}.grandchild`).catch(() => 0),
  notedNull: await count(`SELECT COUNT(*) n FROM ${S}.noted WHERE parent_id IS NULL`).catch(() => 0),
});

beforeAll(async () => {
  admin = await adminConnection();
  await freshSchema(admin, S);
  await admin.query(`USE ${S}`); // MariaDB's seq_1_to_N tables need a current schema
  await admin.query(`DROP DATABASE IF EXISTS ${S}_log`);
});
afterAll(async () => {
  await admin.end();
});

describe('delete rules over ON DELETE CASCADE / SET NULL children', () => {
  it('refuses them without cascade: true, in the dry run and the run, and nothing is deleted', async () => {
    await family('CASCADE');
    for (const dryRun of [true, false]) {
      const r = await run(rule(S, 'parent'), { dryRun });
      expect(r, `dryRun ${dryRun}`).toMatchObject({ status: 'refused', rowsDeleted: 0 });
      expect(r.message).toBe(
        `${S}.parent: deleting its rows would also delete rows of ${S}.child (fk_child, ON DELETE CASCADE), which the rule would neither show nor count; ` +
          'set cascade: true on the rule to delete them with their parents (the dry run and every chunk then count them per child table), or purge the child rows first with their own rule',
      );
    }
    expect(await tables()).toMatchObject({ parent: 1000, child: 3000 });

    await family('SET NULL');
    expect((await run(rule(S, 'parent'))).message).toMatch(/would also set NULL in rows of ret_cascade\.child \(fk_child, ON DELETE SET NULL\)/);
  });

  it('with cascade: true, the dry run and the result count per child table what really went, a two-level chain and SET NULL included', async () => {
    await family('CASCADE', true);
    const before = await tables();
    const r = rule(S, 'parent', { cascade: true });
    const dry = await run(r, { dryRun: true });
    const expected = [
      { table: `${S}.child`, action: 'deleted', rows: 2970 },
      { table: `${S}.grandchild`, action: 'deleted', rows: 5940 },
      { table: `${S}.noted`, action: 'set-null', rows: 495 },
    ];
    expect(dry).toMatchObject({ status: 'dry-run', wouldRemove: 990 });
    expect(dry.childRows).toEqual(expected);

    // Small chunks on two sessions (the default): the counts add up across chunks and lanes.
    const res = await run(r, { settings: { initialChunkRows: 100, minChunkRows: 100, maxChunkRows: 100 } });
    expect(res).toMatchObject({ status: 'completed', rowsDeleted: 990, retries: 0 });
    expect(res.chunks).toBeGreaterThanOrEqual(10);
    expect(res.childRows).toEqual(expected);
    const after = await tables();
    expect({
      child: before.child - after.child,
      grandchild: before.grandchild - after.grandchild,
      notedNull: after.notedNull - before.notedNull,
    }).toEqual({ child: 2970, grandchild: 5940, notedNull: 495 });
    // The run log keeps each chunk's child counts.
    const [logged] = await admin.query<mysql.RowDataPacket[]>(
      `SELECT extra FROM ${S}_log.command_log WHERE command_type = 'PURGE-CHUNK' AND table_name = 'parent' AND error_number IS NULL ORDER BY id DESC LIMIT 1`,
    );
    expect(JSON.stringify(logged[0]!['extra'])).toContain('childRows');
  });

  it('counts children through their foreign-key index, each chunk locking its rows first (EXPLAIN)', async () => {
    await family('CASCADE', true);
    const seen: StatementEvent[] = [];
    const db = await session();
    try {
      const spy = interceptStatements(db, { before: (e) => void seen.push(e) });
      const res = await run(rule(S, 'parent', { cascade: true }), { db: spy, reader: null, second: null, settings: { initialChunkRows: 300, minChunkRows: 300, maxChunkRows: 300 } });
      expect(res).toMatchObject({ status: 'completed', rowsDeleted: 990 });
    } finally {
      await db.close();
    }
    const first = seen.findIndex((e) => e.kind === 'lock-rows');
    // Per chunk: the parent rows locked, then child, grandchild, noted counted, then the DELETE.
    expect(seen.slice(first, first + 5).map((e) => e.kind)).toEqual(['lock-rows', 'lock-rows', 'lock-rows', 'lock-rows', 'delete']);
    const grand = seen.find((e) => e.kind === 'lock-rows' && e.sql.includes('`grandchild`'))!;
    const [plan] = await admin.query<mysql.RowDataPacket[]>(`EXPLAIN ${grand.sql}`, [...grand.params]);
    // No table is scanned (the optimizer's choice among key lookups and ranges varies with the statistics).
    expect(plan.map((p) => `${p['table']} ${p['type']}`).filter((p) => !/ (ref|eq_ref|range)$/.test(p))).toEqual([]);
    const keyOf = (t: string) => plan.filter((p) => p['table'] === t).map((p) => p['key']);
    expect(keyOf('grandchild')).toEqual(['fk_grand']);
    expect(keyOf('parent').every((k) => k === 'PRIMARY' || k === 'ix_created')).toBe(true);
  });

  it('refuses chains it cannot count exactly: a self-reference, two paths to one table, a chain deeper than four levels', async () => {
    await admin.query(`DROP TABLE IF EXISTS ${S}.comments`);
    await admin.query(`CREATE TABLE ${S}.comments (id INT PRIMARY KEY, reply_to INT NULL, created_at DATETIME NOT NULL, KEY (created_at),
        CONSTRAINT fk_reply FOREIGN KEY (reply_to) REFERENCES ${S}.comments (id) ON DELETE CASCADE) ENGINE=InnoDB`);
    expect((await run(rule(S, 'comments', { cascade: true }), { dryRun: true })).message).toBe(
      `${S}.comments: the foreign-key chain ${S}.comments → ${S}.comments (fk_reply, ON DELETE CASCADE) comes back to a table already in it, so its rows cannot be counted per chunk; cascade cannot be used on this table`,
    );

    await admin.query(`DROP TABLE IF EXISTS ${S}.msg, ${S}.users`);
    await admin.query(`CREATE TABLE ${S}.users (id INT PRIMARY KEY, created_at DATETIME NOT NULL, KEY (created_at)) ENGINE=InnoDB`);
    await admin.query(`CREATE TABLE ${S}.msg (id INT PRIMARY KEY, sender INT NOT NULL, recipient INT NOT NULL,
        CONSTRAINT fk_sender FOREIGN KEY (sender) REFERENCES ${S}.users (id) ON DELETE CASCADE,
        CONSTRAINT fk_recipient FOREIGN KEY (recipient) REFERENCES ${S}.users (id) ON DELETE CASCADE) ENGINE=InnoDB`);
    expect((await run(rule(S, 'users', { cascade: true }))).message).toMatch(
      /ret_cascade\.msg is reached along two foreign-key paths \(ret_cascade\.users → ret_cascade\.msg \(fk_recipient, ON DELETE CASCADE\) and .*fk_sender.*\), so its rows could be counted twice/,
    );

    // A SET NULL column that another table references ON UPDATE CASCADE: nulling it would change rows not counted.
    await admin.query(`DROP TABLE IF EXISTS ${S}.sn_mirror, ${S}.sn_child, ${S}.sn_parent`);
    await admin.query(`CREATE TABLE ${S}.sn_parent (id INT PRIMARY KEY, created_at DATETIME NOT NULL, KEY (created_at)) ENGINE=InnoDB`);
    await admin.query(`CREATE TABLE ${S}.sn_child (id INT PRIMARY KEY, pid INT NULL, CONSTRAINT fk_sn FOREIGN KEY (pid) REFERENCES ${S}.sn_parent (id) ON DELETE SET NULL) ENGINE=InnoDB`);
    await admin.query(`CREATE TABLE ${S}.sn_mirror (id INT PRIMARY KEY, pid INT NULL, CONSTRAINT fk_mirror FOREIGN KEY (pid) REFERENCES ${S}.sn_child (pid) ON UPDATE CASCADE) ENGINE=InnoDB`);
    expect((await run(rule(S, 'sn_parent', { cascade: true }), { dryRun: true })).message).toBe(
      `${S}.sn_parent: setting ${S}.sn_child.pid to NULL (${S}.sn_parent → ${S}.sn_child (fk_sn, ON DELETE SET NULL)) would change rows of ${S}.sn_mirror (fk_mirror, ON UPDATE CASCADE), which dbmaint does not count; cascade cannot be used on this table`,
    );

    const chain = ['l0', 'l1', 'l2', 'l3', 'l4', 'l5'];
    await admin.query(`DROP TABLE IF EXISTS ${[...chain].reverse().map((t) => `${S}.${t}`).join(', ')}`);
    await admin.query(`CREATE TABLE ${S}.l0 (id INT PRIMARY KEY, created_at DATETIME NOT NULL, KEY (created_at)) ENGINE=InnoDB`);
    for (let i = 1; i < chain.length; i++) {
      await admin.query(`CREATE TABLE ${S}.l${i} (id INT PRIMARY KEY, up INT NOT NULL, CONSTRAINT fk_l${i} FOREIGN KEY (up) REFERENCES ${S}.l${i - 1} (id) ON DELETE CASCADE) ENGINE=InnoDB`);
    }
    await admin.query(`INSERT INTO ${S}.l0 VALUES (1, UTC_TIMESTAMP() - INTERVAL 90 DAY)`);
    expect((await run(rule(S, 'l0', { cascade: true }))).message).toBe(
      `${S}.l0: the foreign-key chain ${S}.l0 → ${chain.slice(1).map((t, i) => `${S}.${t} (fk_l${i + 1}, ON DELETE CASCADE)`).join(' → ')} is deeper than the 4 levels dbmaint counts; purge the lower tables with their own rules first`,
    );
    expect(await count(`SELECT COUNT(*) n FROM ${S}.l0`)).toBe(1);
    // Four levels are counted.
    await admin.query(`DROP TABLE ${S}.l5`);
    await admin.query(`INSERT INTO ${S}.l1 VALUES (1, 1)`);
    const four = await run(rule(S, 'l0', { cascade: true }));
    expect(four).toMatchObject({ status: 'completed', rowsDeleted: 1 });
    expect(four.childRows!.map((c) => `${c.table} ${c.rows}`)).toEqual([`${S}.l1 1`, `${S}.l2 0`, `${S}.l3 0`, `${S}.l4 0`]);
  });

  it('a RESTRICT grandchild under a cascade fails the chunk with the foreign-key error, as a RESTRICT child does', async () => {
    await family('CASCADE');
    await admin.query(`DROP TABLE IF EXISTS ${S}.pinned`);
    await admin.query(`CREATE TABLE ${S}.pinned (id INT PRIMARY KEY, child_id INT NOT NULL, CONSTRAINT fk_pinned FOREIGN KEY (child_id) REFERENCES ${S}.child (id)) ENGINE=InnoDB`);
    await admin.query(`INSERT INTO ${S}.pinned VALUES (1, 7)`);
    const res = await run(rule(S, 'parent', { cascade: true }), { settings: { initialChunkRows: 1000 } });
    expect(res).toMatchObject({ status: 'failed', retries: 0, rowsDeleted: 0 });
    expect(res.message).toMatch(/^chunk 1 refused by a foreign key \(Cannot delete or update a parent row: a foreign key constraint fails \(`ret_cascade`\.`pinned`, CONSTRAINT `fk_pinned`.*\); child rows must go first\. Not retried\.$/);
    expect(res.childRows!.every((c) => c.rows === 0)).toBe(true);
    expect(await tables()).toMatchObject({ parent: 1000, child: 3000 });
    await admin.query(`DROP TABLE ${S}.pinned`);
  });
});

describe('cleanup-data with cascade', () => {
  const published: { table?: string; points: readonly MetricPoint[] }[] = [];
  const env = (cascade: boolean) => {
    const base = testConfig([S], {}, `${S}_log`);
    return {
      config: { ...base, targets: [{ ...base.targets[0]!, cleanupRules: [{ table: 'parent', dateColumn: 'created_at', retentionDays: 30, action: 'delete' as const, where: [], allowFullScan: false, walk: 'auto' as const, cascade }] }] },
      credentials: new UrlCredentialSource(serverUrl()),
      metrics: {
        publish: (_task: string, _db: string, points: readonly MetricPoint[], table?: string) => {
          published.push({ ...(table ? { table } : {}), points });
          return undefined;
        },
      },
      log: silentLog,
      deadline: Deadline.unlimited(),
    };
  };

  it('publishes ChildRowsDeleted / ChildRowsSetNull per rule and per run; a rule without cascade publishes none', async () => {
    await family('CASCADE', true);
    const out = await runTask('cleanup-data', {}, env(true));
    expect(out.status).toBe('succeeded');
    const rule0 = (out.result as RetentionResult).rules[0]!;
    expect(rule0.childRows).toEqual([
      { table: `${S}.child`, action: 'deleted', rows: 2970 },
      { table: `${S}.grandchild`, action: 'deleted', rows: 5940 },
      { table: `${S}.noted`, action: 'set-null', rows: 495 },
    ]);
    // The CLI summary and the daily report's rule row say it in one line.
    const line = `child rows deleted 2,970 in ${S}.child, 5,940 in ${S}.grandchild, set NULL 495 in ${S}.noted`;
    expect(renderTaskSummary(out)).toContain(`${S}.parent: ${line}`);
    expect(digestOf(out).rows[0]!.detail).toBe(line);
    const value = (name: string) => out.metrics.find((m) => m.name === name)?.value;
    expect([value('ChildRowsDeleted'), value('ChildRowsSetNull')]).toEqual([8910, 495]);
    const perTable = published.find((t) => t.table === `${S}.parent`)?.points ?? [];
    expect(perTable.filter((p) => p.name.startsWith('ChildRows')).map((p) => `${p.name} ${p.value}`)).toEqual(['ChildRowsDeleted 8910', 'ChildRowsSetNull 495']);

    await family('CASCADE', true);
    published.length = 0;
    const refused = await runTask('cleanup-data', {}, env(false));
    expect(refused.status).toBe('failed');
    expect(published.flatMap((p) => p.points).map((m) => m.name)).not.toContain('ChildRowsDeleted');
  });

  it('cascade on an archive rule is a configuration error', () => {
    const bad = () =>
      parseConfig({ targets: [testTarget([S], { cleanupRules: [{ table: 'parent', dateColumn: 'created_at', retentionDays: 30, action: 'archive', cascade: true }] })] });
    expect(bad).toThrow(ConfigError);
    expect(bad).toThrow(/config\.targets\[0\]\.cleanupRules\[0\]\.cascade: is for delete rules only/);
  });
});
