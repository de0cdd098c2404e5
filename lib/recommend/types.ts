// Recommendations: the shape every check produces and the reports, metrics and alerts consume, and the table key the checks share.

export type Priority = 'high' | 'medium' | 'low';

export const PRIORITIES: readonly Priority[] = ['high', 'medium', 'low'];

export interface Recommendation {
  /** Stable code, e.g. `FRAGMENTED_TABLE`: alerts are de-duplicated on code + object. */
  readonly code: string;
  readonly priority: Priority;
  /** `schema.table`, `schema.table.index`, `server`, or a digest text for slow statements. */
  readonly object: string;
  /** One line for a human. */
  readonly message: string;
  /** The numbers behind it. */
  readonly evidence: Readonly<Record<string, number | string | boolean | null>>;
  /** SQL or configuration change that fixes it, when there is one. */
  readonly fix?: string;
}

export interface CheckStatus {
  readonly code: string;
  /** `skipped`: the check could not run here (e.g. performance_schema off) — said, not silently empty. */
  readonly status: 'ran' | 'skipped';
  readonly note?: string;
}

export interface RecommendationsResult {
  /** High first, then medium, then low; within a priority, the order of the checks. */
  readonly items: readonly Recommendation[];
  readonly counts: Readonly<Record<Priority, number>>;
  readonly checks: readonly CheckStatus[];
}

/** The key of one table in the maps a run shares (indexes, sizes, history); NUL cannot occur in an identifier. */
export function tableKey(schema: string, table: string): string {
  return `${schema}\u0000${table}`;
}
