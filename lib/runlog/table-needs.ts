// What dbmaint runs on its own tables, per schema and table: the privileges preflight checks and the docs list.
import { historySchemaOf, type DbMaintConfig } from '../config/schema';
import { alertStateStore } from '../reporting/alert-state';
import { historyPruneStore, historyStore } from '../stats/history';
import { commandLogStore } from './command-log';
import type { StoreSpec } from './store-access';
import { taskRunStore } from './task-runs';

export interface TableNeed {
  readonly table: string;
  /** Without CREATE, which is needed only while the table does not exist. */
  readonly privileges: readonly string[];
  readonly purpose: string;
}

const ORDER = ['INSERT', 'UPDATE', 'SELECT', 'DELETE'];

function privilegesOf(specs: readonly StoreSpec[], reads: boolean): string[] {
  const all = new Set(specs.flatMap((s) => s.writePrivileges));
  if (reads) all.add('SELECT');
  return ORDER.filter((p) => all.has(p));
}

/** Per schema (the run log's, and the history's when it is another), each table the tasks use and the privileges they need on it. */
export function dbmaintTableNeeds(config: DbMaintConfig): { schema: string; tables: TableNeed[] }[] {
  const logSchema = config.runLog.schema;
  const out = new Map<string, TableNeed[]>();
  const add = (schema: string, need: TableNeed) => out.set(schema, [...(out.get(schema) ?? []), need]);
  // The stores' own specs say what each writes; reads add SELECT.
  add(logSchema, { table: config.runLog.table, privileges: privilegesOf([commandLogStore(config.runLog)], true), purpose: 'the run log: one row per command' });
  add(logSchema, { table: taskRunStore(logSchema).tables[0]!, privileges: privilegesOf([taskRunStore(logSchema)], true), purpose: 'task-run records: reports, the falling-behind check, routine skips' });
  if (config.reports?.sendMaintenanceAlerts) {
    const s = alertStateStore(logSchema, '');
    add(logSchema, { table: s.tables[0]!, privileges: privilegesOf([s], true), purpose: 'alert de-duplication' });
  }
  const schema = historySchemaOf(config);
  for (const table of historyStore(schema).tables) {
    add(schema, { table, privileges: privilegesOf([historyStore(schema), historyPruneStore(schema, '')], true), purpose: 'statistics history: growth trends; old snapshots deleted' });
  }
  return [...out].map(([schema, tables]) => ({ schema, tables }));
}
