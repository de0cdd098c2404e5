// preflight: what the configured user may do, which server settings and indexes the configuration relies on, and which tasks cannot work.
import { tasksWhere, type TaskCapability, type TaskId } from '../catalogue';
import type { DbMaintConfig, TargetConfig } from '../config/schema';
import { readTargetTables } from '../config/table-names';
import type { DbSession } from '../db/connection';
import { qualifiedName, quoteIdentifier } from '../db/identifiers';
import { checkRule, cutoffOf, RuleRefusedError, type RetentionRule } from '../retention/engine';
import { placeRetentionRules, type PlacedRule } from '../retention/rules';
import { grantStatement } from '../db/privileges';
import { dbmaintTableNeeds } from '../runlog/table-needs';

export type Capability = 'run-log' | 'analyze' | 'statistics' | 'purge' | 'archive' | 'rebuild';

/** The tasks each capability check covers (their catalogue entries' `capability`). */
const TASKS_CHECKED: { readonly [C in TaskCapability]: readonly TaskId[] } = {
  analyze: tasksWhere((t) => t.capability === 'analyze'),
  statistics: tasksWhere((t) => t.capability === 'statistics'),
  retention: tasksWhere((t) => t.capability === 'retention'),
  rebuild: tasksWhere((t) => t.capability === 'rebuild'),
};

/** `degraded`: the tasks run, with less (the run log: JSON-only, no records, no trends); `missing`: they cannot work. */
export type CapabilityStatus = 'ok' | 'degraded' | 'missing';

/** `blocked`: some task cannot work here; `degraded`: everything runs, but something is missing; `ok`: nothing is. */
export type PreflightRating = 'ok' | 'degraded' | 'blocked';

export interface CapabilityCheck {
  readonly capability: Capability;
  readonly ok: boolean;
  readonly status: CapabilityStatus;
  /** What is missing, one line each (a grant, a setting, an index). */
  readonly missing: readonly string[];
  /** What works less well without something (optional grants, settings): never blocks. */
  readonly notes: readonly string[];
  /** GRANT statements (or config changes) that fix `missing`. */
  readonly fix: readonly string[];
  /** The tasks that need this capability. */
  readonly tasks: readonly string[];
}

export interface PreflightResult {
  readonly user: string;
  readonly server: string;
  readonly settings: Readonly<Record<string, string | number | null>>;
  readonly capabilities: readonly CapabilityCheck[];
  /** Tasks that cannot work at all here: a routine skips them after preflight. */
  readonly blockedTasks: readonly string[];
  readonly rating: PreflightRating;
}

interface Privileges {
  has(privilege: string, schema: string, table?: string): boolean;
}

/** Privileges of the current user: global, per schema (wildcard patterns included) and per table. */
async function readPrivileges(db: DbSession): Promise<{ user: string; privileges: Privileges }> {
  const [me] = await db.query<{ u: string }>('SELECT CURRENT_USER() AS u');
  const current = String(me?.u ?? '');
  const at = current.lastIndexOf('@');
  const grantee = `'${current.slice(0, at)}'@'${current.slice(at + 1)}'`;
  const global = new Set(
    (await db.query<{ p: string }>('SELECT PRIVILEGE_TYPE AS p FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = ?', [grantee])).map((r) => r.p),
  );
  const schemaRows = await db.query<{ s: string; p: string }>('SELECT TABLE_SCHEMA AS s, PRIVILEGE_TYPE AS p FROM information_schema.SCHEMA_PRIVILEGES WHERE GRANTEE = ?', [grantee]);
  const tableRows = await db.query<{ s: string; t: string; p: string }>(
    'SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t, PRIVILEGE_TYPE AS p FROM information_schema.TABLE_PRIVILEGES WHERE GRANTEE = ?',
    [grantee],
  );
  // GRANT … ON `app\_%`.* is stored as a LIKE pattern.
  const schemaMatches = (pattern: string, schema: string) =>
    pattern === schema || new RegExp(`^${pattern.replace(/\\(.)|([%_])|([^\\%_]+)/g, (_, esc: string, wild: string, lit: string) => (esc ? escapeRe(esc) : wild ? (wild === '%' ? '.*' : '.') : escapeRe(lit)))}$`).test(schema);
  return {
    user: current,
    privileges: {
      has(p, schema, table) {
        if (global.has(p)) return true;
        if (schemaRows.some((r) => r.p === p && schemaMatches(r.s, schema))) return true;
        return table !== undefined && tableRows.some((r) => r.p === p && r.s === schema && r.t === table);
      },
    },
  };
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const grant = grantStatement;

/** Does an index lead with this column (the retention engine needs one to walk)? */
async function leadingIndex(db: DbSession, schema: string, table: string, column: string): Promise<boolean> {
  const rows = await db.query('SELECT 1 FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND COLUMN_NAME = ? AND SEQ_IN_INDEX = 1 LIMIT 1', [schema, table, column]);
  return rows.length > 0;
}

async function tableExists(db: DbSession, schema: string, table: string): Promise<boolean> {
  return (await db.query('SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?', [schema, table])).length > 0;
}

/** The retention engine's refusal of a rule as planned now (archive table included), or undefined when it would run. Read-only. */
async function refusalOf(db: DbSession, rule: RetentionRule): Promise<string | undefined> {
  try {
    await checkRule(db, rule, cutoffOf(rule, new Date()));
    return undefined;
  } catch (err) {
    if (err instanceof RuleRefusedError) return err.message;
    throw err;
  }
}

function check(capability: Capability, tasks: readonly string[], missing: string[], fix: string[], notes: string[] = [], whenMissing: CapabilityStatus = 'missing'): CapabilityCheck {
  const status = missing.length === 0 ? 'ok' : whenMissing;
  return { capability, ok: status === 'ok', status, missing, notes, fix: [...new Set(fix)], tasks };
}

/**
 * dbmaint's own tables, per schema: each table's privileges (what the code runs on it), CREATE while
 * one is missing, and what the tasks lose without them. Blocks nothing: every task still runs.
 * `probed`: what this run found when it tried the run log's writes (a read-only server, a role not
 * followed here): named when the grants look complete.
 */
async function runLogCheck(
  db: DbSession,
  config: DbMaintConfig,
  user: string,
  missingOn: (privs: string[], schema: string, table?: string) => string[],
  probed: readonly string[],
): Promise<CapabilityCheck> {
  if (!config.runLog.enabled) return check('run-log', [], [], [], ['runLog.enabled is false: commands are logged as JSON only, by configuration']);
  const missing: string[] = [];
  const fix: string[] = [];
  for (const { schema, tables } of dbmaintTableNeeds(config)) {
    const privs = new Set<string>();
    const absent: string[] = [];
    for (const t of tables) {
      if (!(await tableExists(db, schema, t.table))) absent.push(t.table);
      const m = missingOn([...t.privileges], schema, t.table);
      if (m.length) missing.push(`${m.join(', ')} on ${schema}.${t.table} (${t.purpose})`);
      m.forEach((p) => privs.add(p));
    }
    // information_schema shows only tables the user has a privilege on: ungranted ones look absent, and CREATE is asked for.
    if (absent.length && missingOn(['CREATE'], schema).length) {
      missing.push(`CREATE on ${schema}.* (${absent.map((t) => `${schema}.${t}`).join(', ')} not created yet)`);
      privs.add('CREATE');
    }
    if (privs.size) fix.push(grant(['CREATE', 'INSERT', 'UPDATE', 'SELECT', 'DELETE'].filter((p) => privs.has(p)), `${quoteIdentifier(schema)}.*`, user));
  }
  if (missing.length === 0) missing.push(...probed);
  const notes = missing.length ? ['every task still runs: commands are logged as JSON only; no task-run records, statistics history (trends) or alert de-duplication'] : [];
  return check('run-log', [], missing, fix, notes, 'degraded');
}

export async function preflight(db: DbSession, config: DbMaintConfig, target: TargetConfig, probed: readonly string[] = []): Promise<PreflightResult> {
  const { user, privileges } = await readPrivileges(db);
  const [s] = await db.query<{ ps: number; fpt: number; version: string }>('SELECT @@performance_schema AS ps, @@innodb_file_per_table AS fpt, VERSION() AS version');
  const settings = { performance_schema: Number(s?.ps ?? 0) ? 'ON' : 'OFF', innodb_file_per_table: Number(s?.fpt ?? 0) ? 'ON' : 'OFF', version: s?.version ?? null };
  const caps: CapabilityCheck[] = [];
  const schemas = target.schemas;
  const missingOn = (privs: string[], schema: string, table?: string) => privs.filter((p) => !privileges.has(p, schema, table));

  // The run log and the other tables of dbmaint: without them tasks still run, logging as JSON only — so they block nothing.
  caps.push(await runLogCheck(db, config, user, missingOn, probed));

  {
    const missing: string[] = [];
    const fix: string[] = [];
    for (const schema of schemas) {
      const m = missingOn(['SELECT', 'INSERT'], schema);
      if (m.length) {
        missing.push(`${m.join(', ')} on ${schema}.* (ANALYZE TABLE needs both)`);
        fix.push(grant(m, `${quoteIdentifier(schema)}.*`, user));
      }
    }
    if (!privileges.has('SELECT', 'mysql', 'innodb_table_stats')) {
      missing.push('SELECT on mysql.innodb_table_stats (statistics age)');
      fix.push(grant(['SELECT'], 'mysql.innodb_table_stats', user));
    }
    const notes = privileges.has('PROCESS', '*') ? [] : ['no PROCESS: modification counters unreadable, tables chosen by statistics age only'];
    caps.push(check('analyze', TASKS_CHECKED.analyze, missing, fix, notes));
  }

  {
    const missing: string[] = [];
    const fix: string[] = [];
    for (const schema of schemas) {
      if (!privileges.has('SELECT', schema)) {
        missing.push(`SELECT on ${schema}.*`);
        fix.push(grant(['SELECT'], `${quoteIdentifier(schema)}.*`, user));
      }
    }
    const notes: string[] = [];
    if (!privileges.has('SELECT', 'mysql', 'innodb_index_stats')) notes.push('no SELECT on mysql.innodb_index_stats: free space from DATA_FREE only (understates fragmentation)');
    if (!privileges.has('PROCESS', '*')) notes.push('no PROCESS: tablespace file sizes unreadable, sizes from information_schema.TABLES');
    if (settings.performance_schema === 'OFF') notes.push('performance_schema is OFF: unused-index and slow-statement recommendations are skipped');
    caps.push(check('statistics', TASKS_CHECKED.statistics, missing, fix, notes));
  }

  // Retention: every rule's table (placed among the target's tables as the runners place it), its date index, and the
  // privileges its action needs. A rule whose unqualified table several schemas hold is a bad rule.
  const rules = placeRetentionRules(target, await readTargetTables(db, schemas));
  const badRules = new Set<PlacedRule>();
  for (const action of ['delete', 'archive'] as const) {
    const mine = rules.filter((r) => r.action === action);
    const missing: string[] = [];
    const fix: string[] = [];
    for (const placed of mine) {
      if ('error' in placed) {
        missing.push(placed.error.message);
        badRules.add(placed);
        continue;
      }
      const { rule } = placed;
      const name = `${rule.schema}.${rule.table}`;
      const before = missing.length;
      if (!(await tableExists(db, rule.schema, rule.table))) {
        missing.push(`${name}: table does not exist`);
        badRules.add(placed);
        continue;
      }
      const m = missingOn(['SELECT', 'DELETE'], rule.schema, rule.table);
      if (m.length) {
        missing.push(`${m.join(', ')} on ${name}`);
        fix.push(grant(m, qualifiedName(rule.schema, rule.table), user));
      }
      if (action === 'archive') {
        const a = missingOn(['CREATE', 'SELECT', 'INSERT'], rule.archiveSchema, rule.archiveTable);
        if (a.length) {
          missing.push(`${a.join(', ')} on ${rule.archiveSchema}.${rule.archiveTable} (the archive table)`);
          fix.push(grant(a, `${quoteIdentifier(rule.archiveSchema)}.*`, user));
        }
      }
      if (!rule.allowFullScan && !(await leadingIndex(db, rule.schema, rule.table, rule.dateColumn))) {
        missing.push(`${name}: no index leads with ${rule.dateColumn} (the rule is refused; add one, or allowFullScan)`);
        fix.push(`CREATE INDEX ${quoteIdentifier(`ix_${rule.dateColumn}`.slice(0, 64))} ON ${qualifiedName(rule.schema, rule.table)} (${quoteIdentifier(rule.dateColumn)});`);
      }
      // Whatever else the engine refuses (a date column it cannot compare, cascading children…), in the engine's own words.
      if (missing.length === before) {
        const refusal = await refusalOf(db, rule);
        if (refusal) missing.push(refusal);
      }
      if (missing.length > before) badRules.add(placed);
    }
    caps.push(check(action === 'delete' ? 'purge' : 'archive', [...new Set(mine.map((r) => r.task))], missing, fix));
  }

  {
    const missing: string[] = [];
    const fix: string[] = [];
    for (const schema of schemas) {
      const m = missingOn(['ALTER', 'SELECT', 'INSERT'], schema);
      if (m.length) {
        missing.push(`${m.join(', ')} on ${schema}.* (ALTER TABLE … FORCE, and ANALYZE before it)`);
        fix.push(grant(m, `${quoteIdentifier(schema)}.*`, user));
      }
    }
    const notes = settings.innodb_file_per_table === 'OFF' ? ['innodb_file_per_table is OFF: new and rebuilt tables go to the system tablespace, so a rebuild returns no space to the OS'] : [];
    caps.push(check('rebuild', TASKS_CHECKED.rebuild, missing, fix, notes));
  }

  // A task is blocked only when nothing of it can work: cleanup-data with one bad rule of three still runs the other two.
  const blocked = new Set<string>();
  const failed = (c: Capability) => caps.find((x) => x.capability === c)?.ok === false;
  for (const c of ['analyze', 'statistics', 'rebuild'] as const) if (failed(c)) TASKS_CHECKED[c].forEach((t) => blocked.add(t));
  for (const task of TASKS_CHECKED.retention) {
    const mine = rules.filter((r) => r.task === task);
    if (mine.length && mine.every((r) => badRules.has(r))) blocked.add(task);
  }
  const rating: PreflightRating = blocked.size ? 'blocked' : caps.some((c) => !c.ok) ? 'degraded' : 'ok';
  return { user, server: db.describe(), settings, capabilities: caps, blockedTasks: [...blocked], rating };
}
