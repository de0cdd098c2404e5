// Child rows a delete rule removes or changes through ON DELETE CASCADE / SET NULL: the chain read, refused or counted per chunk.
import type { DbSession } from '../db/connection';
import { qualifiedName, quoteIdentifier } from '../db/identifiers';
import type { SqlPart } from './keyset';
import { ChunkCountMismatchError, RuleRefusedError } from './rule-errors';
import type { ChildTable } from './inspect';

/** Levels of child tables counted below the rule's table (children, grandchildren, …); a longer chain is refused. */
const MAX_CASCADE_DEPTH = 4;

export type ChildAction = 'deleted' | 'set-null';

/** Rows of one child table a rule's deletes removed (or would remove) or set to NULL. */
export interface ChildRowCount {
  readonly table: string;
  readonly action: ChildAction;
  rows: number;
  /** Dry run: more than the exact-count limit (rows is that limit). */
  estimated?: boolean;
}

interface ForeignKey {
  readonly schema: string;
  readonly table: string;
  readonly constraint: string;
  readonly columns: readonly string[];
  readonly refColumns: readonly string[];
  readonly onDelete: string;
  readonly onUpdate: string;
}

/** A table whose rows change when rows of its parent node go; the chain down from the rule's table is a tree. */
interface CascadeNode {
  readonly schema: string;
  readonly table: string;
  readonly action: ChildAction;
  readonly fk: ForeignKey;
  /** Undefined: the rule's own table. */
  readonly parent?: CascadeNode;
  /** `a.parent → a.child (fk_c, ON DELETE CASCADE) → …`, for messages. */
  readonly path: string;
}

export interface CascadePlan {
  /** Parents before their children. */
  readonly nodes: readonly CascadeNode[];
}

/** Foreign keys that reference `schema.table`, one entry per constraint with its columns in order. */
async function referencing(db: DbSession, schema: string, table: string): Promise<ForeignKey[]> {
  const rows = await db.query<{ s: string; t: string; c: string; col: string; ref: string; onDelete: string; onUpdate: string }>(
    `SELECT k.TABLE_SCHEMA AS s, k.TABLE_NAME AS t, k.CONSTRAINT_NAME AS c, k.COLUMN_NAME AS col, k.REFERENCED_COLUMN_NAME AS ref,
            r.DELETE_RULE AS onDelete, r.UPDATE_RULE AS onUpdate
       FROM information_schema.KEY_COLUMN_USAGE k
       JOIN information_schema.REFERENTIAL_CONSTRAINTS r
         ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME AND r.TABLE_NAME = k.TABLE_NAME
      WHERE k.REFERENCED_TABLE_SCHEMA = ? AND k.REFERENCED_TABLE_NAME = ?
      ORDER BY k.TABLE_SCHEMA, k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION`,
    [schema, table],
  );
  const byKey = new Map<string, { schema: string; table: string; constraint: string; columns: string[]; refColumns: string[]; onDelete: string; onUpdate: string }>();
  for (const r of rows) {
    const k = `${r.s}\u0000${r.t}\u0000${r.c}`;
    const fk = byKey.get(k) ?? { schema: r.s, table: r.t, constraint: r.c, columns: [], refColumns: [], onDelete: r.onDelete, onUpdate: r.onUpdate };
    fk.columns.push(r.col);
    fk.refColumns.push(r.ref);
    byKey.set(k, fk);
  }
  return [...byKey.values()];
}

/** `a`, `a and b`, `a, b and c`. */
const inWords = (items: readonly string[]) => (items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`);
const changes = (rule: string) => rule === 'CASCADE' || rule === 'SET NULL';
const describe = (fk: ForeignKey) => `${fk.schema}.${fk.table} (${fk.constraint}, ON DELETE ${fk.onDelete})`;

/**
 * Refuses a delete rule over cascading children unless it opts in (`cascade: true`); with it, reads the chain below the
 * table. Refused, naming the chain, what cannot be counted exactly: a chain deeper than MAX_CASCADE_DEPTH, a cycle (a
 * table that references itself or an ancestor), a table reached along two paths (its rows could be counted twice), and a
 * SET NULL whose nulled columns are referenced ON UPDATE CASCADE / SET NULL further down. RESTRICT / NO ACTION children
 * are not followed: a chunk that would orphan their rows fails with the server's foreign-key error, as without cascade.
 */
export async function planCascade(
  db: DbSession,
  rule: { readonly schema: string; readonly table: string; readonly action: 'delete' | 'archive'; readonly cascade?: boolean },
  children: readonly ChildTable[],
): Promise<CascadePlan | undefined> {
  const name = `${rule.schema}.${rule.table}`;
  const direct = children.filter((c) => changes(c.deleteRule));
  if (rule.action !== 'delete' || direct.length === 0) return undefined;
  if (!rule.cascade) {
    throw new RuleRefusedError(
      `${name}: deleting its rows would also ${inWords(direct.map((c) => `${c.deleteRule === 'CASCADE' ? 'delete' : 'set NULL in'} rows of ${c.schema}.${c.table} (${c.constraint}, ON DELETE ${c.deleteRule})`))}, ` +
        'which the rule would neither show nor count; set cascade: true on the rule to delete them with their parents (the dry run and every chunk then count them per child table), ' +
        'or purge the child rows first with their own rule',
    );
  }
  const nodes: CascadeNode[] = [];
  const reached = new Map<string, string>([[`${rule.schema}\u0000${rule.table}`, name]]);
  const expand = async (schema: string, table: string, parent: CascadeNode | undefined, depth: number): Promise<void> => {
    for (const fk of (await referencing(db, schema, table)).filter((f) => changes(f.onDelete))) {
      const path = `${parent?.path ?? name} → ${describe(fk)}`;
      const key = `${fk.schema}\u0000${fk.table}`;
      const ancestors = new Set<string>([`${rule.schema}\u0000${rule.table}`]);
      for (let p = parent; p; p = p.parent) ancestors.add(`${p.schema}\u0000${p.table}`);
      if (ancestors.has(key)) throw new RuleRefusedError(`${name}: the foreign-key chain ${path} comes back to a table already in it, so its rows cannot be counted per chunk; cascade cannot be used on this table`);
      if (reached.has(key)) {
        throw new RuleRefusedError(`${name}: ${fk.schema}.${fk.table} is reached along two foreign-key paths (${reached.get(key)} and ${path}), so its rows could be counted twice; cascade cannot be used on this table`);
      }
      if (depth > MAX_CASCADE_DEPTH) {
        throw new RuleRefusedError(`${name}: the foreign-key chain ${path} is deeper than the ${MAX_CASCADE_DEPTH} levels dbmaint counts; purge the lower tables with their own rules first`);
      }
      reached.set(key, path);
      const node: CascadeNode = { schema: fk.schema, table: fk.table, action: fk.onDelete === 'CASCADE' ? 'deleted' : 'set-null', fk, ...(parent ? { parent } : {}), path };
      nodes.push(node);
      if (node.action === 'deleted') {
        await expand(fk.schema, fk.table, node, depth + 1);
      } else {
        const nulled = new Set(fk.columns);
        const below = (await referencing(db, fk.schema, fk.table)).find((f) => changes(f.onUpdate) && f.refColumns.some((c) => nulled.has(c)));
        if (below) {
          throw new RuleRefusedError(
            `${name}: setting ${fk.schema}.${fk.table}.${fk.columns.join(', ')} to NULL (${path}) would change rows of ${below.schema}.${below.table} (${below.constraint}, ON UPDATE ${below.onUpdate}), which dbmaint does not count; cascade cannot be used on this table`,
          );
        }
      }
    }
  };
  await expand(rule.schema, rule.table, undefined, 1);
  return { nodes };
}

const columnList = (cols: readonly string[]) => (cols.length === 1 ? quoteIdentifier(cols[0]!) : `(${cols.map(quoteIdentifier).join(', ')})`);

/**
 * The rows of `node` that reference the rows going: `fk IN (SELECT ref FROM parent WHERE …)`, nested up to the rule's
 * table, whose rows are `root` (the chunk's or the run's predicate over `source`). Each level names only its own
 * table's columns, so unqualified names resolve to the right table.
 */
function referencingRows(node: CascadeNode, source: string, root: SqlPart): SqlPart {
  const parentRows = node.parent ? referencingRows(node.parent, source, root) : root;
  const parentTable = node.parent ? qualifiedName(node.parent.schema, node.parent.table) : source;
  return {
    sql: `${columnList(node.fk.columns)} IN (SELECT ${node.fk.refColumns.map(quoteIdentifier).join(', ')} FROM ${parentTable} WHERE ${parentRows.sql})`,
    params: parentRows.params,
  };
}

/**
 * Inside a chunk's transaction, before its DELETE: lock the chunk's rows, then count (and lock) the child rows the DELETE
 * will remove or change, parents first. With the parents locked no child row can be added to them or moved onto them (its
 * foreign-key check waits for our lock), and the counted children are locked, so the counts are what the DELETE does,
 * provided it deletes exactly the `locked` rows (the caller checks that).
 */
export async function countChunkCascade(db: DbSession, plan: CascadePlan, source: string, where: SqlPart): Promise<{ locked: number; rows: ChildRowCount[] }> {
  const [locked] = await db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${source} WHERE ${where.sql} FOR UPDATE`, where.params);
  const rows: ChildRowCount[] = [];
  for (const node of plan.nodes) {
    const w = referencingRows(node, source, where);
    const [r] = await db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${qualifiedName(node.schema, node.table)} WHERE ${w.sql} FOR UPDATE`, w.params);
    rows.push({ table: `${node.schema}.${node.table}`, action: node.action, rows: Number(r?.n ?? 0) });
  }
  return { locked: Number(locked?.n ?? 0), rows };
}

/**
 * After the chunk's DELETE: it must have deleted exactly the rows locked before it, or the child counts may be off (under
 * READ COMMITTED a row written into the chunk's range meanwhile is deleted too): the caller rolls the chunk back and retries.
 */
export function checkCascadeCount(counted: { readonly locked: number }, deleted: number): void {
  if (counted.locked !== deleted) {
    throw new ChunkCountMismatchError(`cascade counts disagree (locked ${counted.locked} rows before the DELETE, deleted ${deleted}); chunk rolled back`);
  }
}

/** Dry run: the child rows the whole run would remove or change (plain reads), exact up to `limit` per table. */
export async function countRunCascade(db: DbSession, plan: CascadePlan, source: string, predicate: SqlPart, limit: number): Promise<ChildRowCount[]> {
  const out: ChildRowCount[] = [];
  for (const node of plan.nodes) {
    const w = referencingRows(node, source, predicate);
    const [r] = await db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM (SELECT 1 FROM ${qualifiedName(node.schema, node.table)} WHERE ${w.sql} LIMIT ?) x`, [...w.params, limit + 1]);
    const n = Number(r?.n ?? 0);
    out.push({ table: `${node.schema}.${node.table}`, action: node.action, rows: Math.min(n, limit), ...(n > limit ? { estimated: true } : {}) });
  }
  return out;
}

/** The child tables of a plan, each at 0 rows: what a cascading rule's result starts from. */
export function noChildRows(plan: CascadePlan): ChildRowCount[] {
  return plan.nodes.map((n) => ({ table: `${n.schema}.${n.table}`, action: n.action, rows: 0 }));
}

/** Add one committed chunk's counts to the rule's. */
export function addChildRows(total: ChildRowCount[], chunk: readonly ChildRowCount[]): void {
  for (const c of chunk) {
    const t = total.find((x) => x.table === c.table && x.action === c.action);
    if (t) t.rows += c.rows;
    else total.push({ ...c });
  }
}
