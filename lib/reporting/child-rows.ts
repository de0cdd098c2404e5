// One line on the child rows a cascade rule removed or set to NULL, shared by the text summary and the mailed reports.
import type { RuleResult } from '../retention/engine';

/** `child rows deleted 2,970 in app.items, set NULL 495 in app.notes` (dry run: "would be …"); undefined without cascade. */
export function childRowsText(r: Pick<RuleResult, 'status' | 'childRows'>): string | undefined {
  if (!r.childRows?.length) return undefined;
  const n = (x: number, estimated?: boolean) => `${estimated ? '≥' : ''}${x.toLocaleString('en')}`;
  const part = (action: 'deleted' | 'set-null', verb: string) => {
    const list = r.childRows!.filter((c) => c.action === action);
    return list.length ? `${verb} ${list.map((c) => `${n(c.rows, c.estimated)} in ${c.table}`).join(', ')}` : undefined;
  };
  const parts = [part('deleted', 'deleted'), part('set-null', 'set NULL')].filter((p): p is string => p !== undefined);
  return `child rows ${r.status === 'dry-run' ? 'that would be ' : ''}${parts.join(', ')}`;
}
