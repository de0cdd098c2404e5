// optimize-tables: choose fragmented tables worth rebuilding (largest reclaimable space first) and rebuild them online.
import type { OptimizeSettings } from '../config/schema';
import type { DbSession } from '../db/connection';
import { isNamedIn, qualifiedName, type TableRef } from '../db/identifiers';
import type { RunLog } from '../runlog/command-log';
import type { Deadline } from '../runtime/deadline';
import type { Log } from '../runtime/log';
import { readTableSizes, type TableSize } from '../stats/sizes';
import type { LockWatch } from '../db/lock-diagnostics';
import { rebuildTables, type PtOscEngine, type RebuildRequest, type RebuildResult } from './rebuild';

const MB = 1024 * 1024;

export interface OptimizeOptions {
  readonly schemas: readonly string[];
  /** Only these tables (validated against the schemas); the thresholds still apply unless `force`. */
  readonly tables?: readonly TableRef[];
  readonly excludeTables: readonly TableRef[];
  readonly fragmentationPercent: number;
  readonly minSizeMb: number;
  readonly force: boolean;
  readonly dryRun: boolean;
  readonly settings: OptimizeSettings;
  readonly now: Date;
  /** Watches each ALTER's lock wait from another session (see rebuildTables). */
  readonly lockWatch?: LockWatch;
  /** Rebuild with pt-online-schema-change (see rebuildTables). */
  readonly ptOsc?: PtOscEngine;
}

export interface OptimizeResult extends RebuildResult {
  readonly thresholds: { readonly fragmentationPercent: number; readonly minSizeMb: number };
  /** Tables measured, and how many crossed both thresholds. */
  readonly tablesMeasured: number;
  readonly candidates: number;
}

/** Named in the payload, or (when none are named) not excluded by configuration. */
function inScope(opts: OptimizeOptions, t: TableSize): boolean {
  return opts.tables ? isNamedIn(opts.tables, t.schema, t.table) : !isNamedIn(opts.excludeTables, t.schema, t.table);
}

/** Both thresholds crossed, largest reclaimable space first, at most maxTablesPerRun. */
export function selectForOptimize(sizes: readonly TableSize[], opts: OptimizeOptions): RebuildRequest[] {
  const chosen: RebuildRequest[] = [];
  for (const t of sizes) {
    if (!inScope(opts, t)) continue;
    const frag = t.fragmentationPercent;
    const bigEnough = t.totalBytes >= opts.minSizeMb * MB;
    const fragmented = frag !== null && frag >= opts.fragmentationPercent;
    const why = `${frag ?? '?'}% free (${Math.round(t.freeBytes / MB)} MB of ${Math.round(t.totalBytes / MB)} MB, ${t.fragmentationBasis})`;
    if (bigEnough && fragmented) chosen.push({ size: t, reason: why });
    else if (opts.force && opts.tables) chosen.push({ size: t, reason: `forced; ${why}` });
  }
  chosen.sort((a, b) => b.size.freeBytes - a.size.freeBytes);
  return chosen.slice(0, opts.settings.maxTablesPerRun);
}

/**
 * The leaf-page figures come from persistent statistics, which InnoDB refreshes in the background
 * only after 10% of a table changed. Before a rebuild is decided on them, ANALYZE the candidates
 * (a few sampled pages per index; n_leaf_pages itself is counted exactly) and choose again.
 * A dry run changes nothing, statistics included, and says its figures may be stale.
 */
async function refreshCandidates(db: DbSession, runLog: RunLog, opts: OptimizeOptions, sizes: TableSize[]): Promise<TableSize[]> {
  // Candidates, and tables over the size floor whose statistics are too stale to tell.
  const first = [
    ...selectForOptimize(sizes, opts).map((r) => r.size),
    ...sizes.filter((t) => t.statsStale && t.totalBytes >= opts.minSizeMb * MB && inScope(opts, t)),
  ];
  if (opts.dryRun || first.length === 0) return sizes;
  for (const t of first) {
    const sql = `ANALYZE TABLE ${qualifiedName(t.schema, t.table)}`;
    await runLog.command({ type: 'ANALYZE', sql, schema: t.schema, table: t.table, extra: { reason: 'refresh statistics before optimize' } }, () => db.query(sql));
  }
  const fresh = await readTableSizes(db, { schemas: opts.schemas, only: first.map((t) => ({ schema: t.schema, table: t.table })) });
  const byName = new Map(fresh.map((t) => [`${t.schema}.${t.table}`, t]));
  return sizes.map((t) => byName.get(`${t.schema}.${t.table}`) ?? t);
}

export async function optimizeTables(db: DbSession, runLog: RunLog, deadline: Deadline, log: Log, opts: OptimizeOptions): Promise<OptimizeResult> {
  const sizes = await refreshCandidates(db, runLog, opts, await readTableSizes(db, { schemas: opts.schemas }));
  const requests = selectForOptimize(sizes, opts);
  log.info('optimize candidates', { measured: sizes.length, candidates: requests.length, tables: requests.map((r) => `${r.size.schema}.${r.size.table}`) });
  const result = await rebuildTables(db, runLog, deadline, log, requests, {
    settings: opts.settings,
    dryRun: opts.dryRun,
    skipSharedTablespace: true,
    // A table named with force is rebuilt whatever its last rebuild.
    minDaysBetweenRebuilds: opts.force && opts.tables ? 0 : opts.settings.minDaysBetweenRebuilds,
    now: opts.now,
    ...(opts.lockWatch ? { lockWatch: opts.lockWatch } : {}),
    ...(opts.ptOsc ? { ptOsc: opts.ptOsc } : {}),
  });
  return {
    ...result,
    thresholds: { fragmentationPercent: opts.fragmentationPercent, minSizeMb: opts.minSizeMb },
    tablesMeasured: sizes.length,
    candidates: requests.length,
  };
}
