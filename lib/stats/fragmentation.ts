// Free space and fragmentation % of a table from the figures InnoDB exposes, and which figure was used.

export type FragmentationBasis = 'leaf-pages' | 'file-size' | 'data-free' | 'stale-statistics' | 'shared-tablespace';

export interface SpaceFigures {
  /** information_schema.TABLES.DATA_LENGTH / INDEX_LENGTH / DATA_FREE. */
  readonly dataBytes: number;
  readonly indexBytes: number;
  readonly dataFreeBytes: number;
  /** Size of the table's own tablespace file(s); undefined when unknown or shared. */
  readonly fileBytes?: number;
  /** Pages holding records: sum of n_leaf_pages over the table's indexes × page size; undefined without persistent statistics. */
  readonly leafBytes?: number;
  /** The table lives in the system or a general tablespace: DATA_FREE is the whole tablespace's. */
  readonly sharedTablespace: boolean;
  /** Persistent statistics describe a different table than today's (row count moved > 10% since): pages and lengths are stale. */
  readonly statsStale?: boolean;
}

export interface SpaceEstimate {
  /** Bytes a rebuild could give back (an estimate, see `basis`). */
  readonly freeBytes: number;
  /** freeBytes as a share of the space the table occupies; null when it cannot be told. */
  readonly fragmentationPercent: number | null;
  readonly basis: FragmentationBasis;
}

/**
 * DATA_LENGTH and INDEX_LENGTH count pages *reserved* by the indexes' segments, so after a large
 * DELETE they barely move while most pages are empty; DATA_FREE counts only whole free extents.
 * Both understate what a rebuild reclaims. The pages that still hold records are the indexes'
 * leaf pages (mysql.innodb_index_stats n_leaf_pages): everything else in the tablespace file is
 * reclaimable, less the non-leaf pages (well under 1% of a B-tree). So with persistent statistics
 * and a file of its own: free = file − leaf pages. Without statistics: free = file − (data + index),
 * and never less than DATA_FREE. With statistics that no longer match the table (its row count moved
 * by more than 10% since they were computed), only DATA_FREE, marked 'stale-statistics'. Without a file of its own (system or general tablespace) a
 * rebuild returns nothing to the operating system: no percentage.
 */
export function estimateFreeSpace(f: SpaceFigures): SpaceEstimate {
  if (f.sharedTablespace) return { freeBytes: 0, fragmentationPercent: null, basis: 'shared-tablespace' };
  // Stale page counts can claim a freshly filled table is empty: only DATA_FREE (a lower bound) is safe then.
  if (f.statsStale && f.fileBytes !== undefined && f.fileBytes > 0) {
    return { freeBytes: f.dataFreeBytes, fragmentationPercent: percent(f.dataFreeBytes, f.fileBytes), basis: 'stale-statistics' };
  }
  if (f.fileBytes !== undefined && f.fileBytes > 0) {
    const byLeaves = f.leafBytes !== undefined && f.leafBytes > 0 ? f.fileBytes - f.leafBytes : undefined;
    const byLengths = f.fileBytes - f.dataBytes - f.indexBytes;
    const free = Math.max(0, byLeaves ?? byLengths, f.dataFreeBytes);
    return { freeBytes: free, fragmentationPercent: percent(free, f.fileBytes), basis: byLeaves !== undefined ? 'leaf-pages' : 'file-size' };
  }
  const total = f.dataBytes + f.indexBytes + f.dataFreeBytes;
  return { freeBytes: f.dataFreeBytes, fragmentationPercent: total > 0 ? percent(f.dataFreeBytes, total) : 0, basis: 'data-free' };
}

function percent(part: number, whole: number): number {
  return Math.round(Math.min(100, (part / whole) * 100) * 100) / 100;
}
