// Unqualified table names: the one configured schema that holds the table, and a refusal naming the candidates when several do (real MariaDB).
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DbMaintConfig } from '../lib/config/schema';
import { AmbiguousTableError, readTargetTables, resolveTableName } from '../lib/config/table-names';
import { openSession, type DbSession } from '../lib/db/connection';
import { credentialsFromUrl, UrlCredentialSource } from '../lib/db/credentials';
import { EventValidationError } from '../lib/events/schema';
import type { PreflightResult } from '../lib/maintenance/preflight';
import { placeRetentionRules, retentionRulesOf } from '../lib/retention/rules';
import { Deadline } from '../lib/runtime/deadline';
import { silentLog } from '../lib/runtime/log';
import { runTask } from '../lib/tasks/registry';
import { adminConnection, freshSchema, serverUrl, testConfig, testTarget } from './support/db';

const A = 'tnames_a';
const B = 'tnames_b';
const SESSION = { lockWaitTimeoutSeconds: 5, innodbLockWaitTimeoutSeconds: 5, connectTimeoutSeconds: 5 };
const rule = (table: string) => ({ table, dateColumn: 'created_at', retentionDays: 30, action: 'delete' });

/** A target on both schemas (A first) with these cleanup rules; `cdk synth` accepts each (it places unqualified names in A). */
function config(cleanupRules: Record<string, unknown>[]): DbMaintConfig {
  return testConfig([A, B], { targets: [testTarget([A, B], { cleanupRules })] });
}

let admin: mysql.Connection;
let db: DbSession;

beforeAll(async () => {
  admin = await adminConnection();
  for (const s of [A, B]) await freshSchema(admin, s);
  // events in both schemas (ambiguous unqualified); only_b in B only, with a view of that name in A (a view is no candidate).
  for (const s of [A, B]) await admin.query(`CREATE TABLE ${s}.events (id INT PRIMARY KEY, created_at DATETIME NOT NULL, KEY (created_at))`);
  await admin.query(`CREATE TABLE ${B}.only_b (id INT PRIMARY KEY, created_at DATETIME NOT NULL, KEY (created_at))`);
  await admin.query(`CREATE VIEW ${A}.only_b AS SELECT id, created_at FROM ${A}.events`);
  db = await openSession(credentialsFromUrl(serverUrl()), SESSION, 'disabled');
});
afterAll(async () => {
  await db?.close();
  await admin?.end();
});

describe('resolveTableName (the rule itself)', () => {
  const target = { name: 'prod', schemas: ['shop', 'crm', 'billing'] };
  const tables = [
    { schema: 'shop', table: 'events' },
    { schema: 'crm', table: 'events' },
    { schema: 'billing', table: 'events' },
    { schema: 'crm', table: 'contacts' },
    { schema: 'other', table: 'invoices' },
  ];

  it('places a name in the one configured schema that holds it, and a qualified name where it says', () => {
    expect(resolveTableName({ table: 'contacts' }, target, tables, 'event.tables[0]')).toEqual({ schema: 'crm', table: 'contacts' });
    expect(resolveTableName({ schema: 'shop', table: 'events' }, target, tables, 'event.tables[0]')).toEqual({ schema: 'shop', table: 'events' });
  });

  it('finds nothing for a name no configured schema holds (a schema outside the target does not count)', () => {
    expect(resolveTableName({ table: 'invoices' }, target, tables, 'event.tables[0]')).toBeUndefined();
    expect(resolveTableName({ table: 'contacts' }, { name: 'one', schemas: ['shop'] }, tables, 'event.tables[0]')).toBeUndefined();
  });

  it('refuses a name several configured schemas hold, naming every candidate in the configured order and the fix', () => {
    const err = (() => {
      try {
        resolveTableName({ table: 'events' }, target, tables, 'config.cleanupRules[1].table');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(AmbiguousTableError);
    expect(err).toBeInstanceOf(EventValidationError);
    expect((err as AmbiguousTableError).candidates).toEqual(['shop', 'crm', 'billing']);
    expect((err as Error).message).toBe(
      "config.cleanupRules[1].table: table 'events' exists in several schemas of target 'prod' (shop, crm, billing): " +
        'write it as schema.table: shop.events, crm.events or billing.events',
    );
  });
});

describe('retention rules placed on the server', () => {
  it('reads the target’s base tables only (the view in A is not one)', async () => {
    const tables = await readTargetTables(db, [A, B]);
    expect(tables.map((t) => `${t.schema}.${t.table}`).sort()).toEqual([`${A}.events`, `${B}.events`, `${B}.only_b`]);
  });

  it('resolves an unqualified rule table held by one schema, also when it is not the first', async () => {
    const target = config([rule('only_b'), rule(`${A}.events`)]).targets[0]!;
    const rules = retentionRulesOf(target, await readTargetTables(db, target.schemas), 'cleanup-data');
    expect(rules.map((r) => [r.schema, r.table, r.archiveSchema])).toEqual([
      [B, 'only_b', B],
      [A, 'events', A],
    ]);
  });

  it('resolves it in a target of one schema', async () => {
    const target = testConfig([A], { targets: [testTarget([A], { cleanupRules: [rule('events')] })] }).targets[0]!;
    expect(retentionRulesOf(target, await readTargetTables(db, target.schemas)).map((r) => `${r.schema}.${r.table}`)).toEqual([`${A}.events`]);
  });

  it('refuses an unqualified rule table both schemas hold, before any statement on the rules’ tables', async () => {
    const target = config([rule(`${B}.only_b`), rule('events')]).targets[0]!;
    const tables = await readTargetTables(db, target.schemas);
    expect(() => retentionRulesOf(target, tables)).toThrow(
      `config.cleanupRules[1].table: table 'events' exists in several schemas of target 'test' (${A}, ${B}): write it as schema.table: ${A}.events or ${B}.events`,
    );
    // Each rule is placed or refused on its own: the qualified one still stands.
    const placed = placeRetentionRules(target, tables);
    expect(placed.map((p) => ('rule' in p ? `${p.rule.schema}.${p.rule.table}` : p.error.constructor.name))).toEqual([`${B}.only_b`, 'AmbiguousTableError']);
  });

  it('preflight reports the ambiguous rule as missing, and blocks cleanup-data when it is the only rule', async () => {
    const env = { config: config([rule('events')]), credentials: new UrlCredentialSource(serverUrl()), metrics: { publish: () => undefined }, log: silentLog, deadline: Deadline.unlimited() };
    const r = (await runTask('preflight', {}, env)).result as PreflightResult;
    expect(r.capabilities.find((c) => c.capability === 'purge')!.missing).toEqual([
      `config.cleanupRules[0].table: table 'events' exists in several schemas of target 'test' (${A}, ${B}): write it as schema.table: ${A}.events or ${B}.events`,
    ]);
    expect(r.blockedTasks).toContain('cleanup-data');
  });
});
