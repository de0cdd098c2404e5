// Which indexes of a table another index makes unnecessary: exact duplicates, left prefixes, and InnoDB's implicit primary-key suffix.
import type { IndexColumn, IndexDef, TableIndexes } from './index-catalogue';

export interface IndexFinding {
  readonly kind: 'duplicate' | 'redundant';
  readonly reason: 'same-columns' | 'left-prefix' | 'primary-key-suffix';
  /** The index to drop. */
  readonly index: IndexDef;
  /** The index that makes it unnecessary; never itself among the findings. */
  readonly keeper: IndexDef;
}

/** Column names are case-insensitive in MySQL; prefix length and direction are part of what an index can do. */
function columnSig(c: IndexColumn): string {
  return `${(c.name ?? '').toLowerCase()}\u0000${c.subPart ?? ''}\u0000${c.collation ?? ''}`;
}

function sigs(i: IndexDef): string[] {
  return i.columns.map(columnSig);
}

/**
 * `longer` serves every lookup `shorter` serves: the same leading columns, except that the last of
 * `shorter`'s may be indexed by a shorter prefix (c(10) is served by c(20) or the whole c).
 */
function covers(longer: IndexDef, shorter: IndexDef): boolean {
  const n = shorter.columns.length;
  if (longer.columns.length < n) return false;
  for (let i = 0; i < n - 1; i++) if (columnSig(longer.columns[i]!) !== columnSig(shorter.columns[i]!)) return false;
  const a = shorter.columns[n - 1]!;
  const b = longer.columns[n - 1]!;
  if ((a.name ?? '').toLowerCase() !== (b.name ?? '').toLowerCase() || a.collation !== b.collation) return false;
  const wider = b.subPart === null ? a.subPart !== null : a.subPart !== null && b.subPart > a.subPart;
  return longer.columns.length > n ? wider || b.subPart === a.subPart : wider;
}

/** The one to keep among equals: the primary key, then a unique index (it enforces something), then the first by name. */
function keeperRank(i: IndexDef): number {
  return i.primary ? 0 : i.unique ? 1 : 2;
}

/**
 * Findings for one table. FULLTEXT and SPATIAL indexes are not comparable by columns, functional
 * (expression) and invisible/ignored indexes are left alone. Every index a finding names as its keeper
 * is protected from later findings, so dropping all the reported indexes together is safe.
 */
export function findRedundantIndexes(t: TableIndexes, innodb: boolean): IndexFinding[] {
  const candidates = t.indexes.filter(
    (i) => i.usable && i.type !== 'FULLTEXT' && i.type !== 'SPATIAL' && i.columns.every((c) => c.name !== null),
  );
  const findings: IndexFinding[] = [];
  const dropped = new Set<IndexDef>();
  const kept = new Set<IndexDef>();
  const drop = (f: IndexFinding) => {
    findings.push(f);
    dropped.add(f.index);
    kept.add(f.keeper);
  };
  const alive = () => candidates.filter((i) => !dropped.has(i));

  // 1. Same columns, same prefix lengths, same directions, same index type.
  const groups = new Map<string, IndexDef[]>();
  for (const i of candidates) {
    const k = `${i.type}\u0001${sigs(i).join('\u0001')}`;
    groups.set(k, [...(groups.get(k) ?? []), i]);
  }
  for (const group of groups.values()) {
    if (group.length < 2) continue;
    const [keeper, ...others] = [...group].sort((a, b) => keeperRank(a) - keeperRank(b));
    for (const index of others) drop({ kind: 'duplicate', reason: 'same-columns', index, keeper: keeper! });
  }

  // 2. InnoDB stores the primary key columns at the end of every secondary index: (a, id) is (a) again.
  const pk = candidates.find((i) => i.primary);
  if (innodb && pk && !dropped.has(pk)) {
    const pkSigs = sigs(pk);
    const pkNames = new Set(pk.columns.map((c) => (c.name ?? '').toLowerCase()));
    for (const index of alive()) {
      if (index.primary || kept.has(index) || dropped.has(index) || index.type !== 'BTREE') continue;
      const keeper = alive().find(
        (b) =>
          b !== index &&
          !b.primary &&
          b.type === 'BTREE' &&
          b.columns.every((c) => !pkNames.has((c.name ?? '').toLowerCase())) &&
          sigs(index).join('\u0001') === [...sigs(b), ...pkSigs].join('\u0001'),
      );
      if (keeper) drop({ kind: 'redundant', reason: 'primary-key-suffix', index, keeper });
    }
  }

  // 3. A non-unique index whose columns begin another index: the longer one serves its lookups.
  for (const index of alive()) {
    if (index.unique || kept.has(index) || index.type !== 'BTREE' || dropped.has(index)) continue;
    const keeper = alive()
      .filter((c) => c !== index && c.type === 'BTREE' && covers(c, index))
      // The longest covering index: the likeliest to be kept by whoever reads the list.
      .sort((a, b) => b.columns.length - a.columns.length || keeperRank(a) - keeperRank(b))[0];
    if (keeper) drop({ kind: 'redundant', reason: 'left-prefix', index, keeper });
  }
  return findings;
}
