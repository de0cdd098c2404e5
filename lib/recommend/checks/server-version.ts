// Server version and binary-log checks: end of life of the release series (a table with its source date), known bugs that matter to this tool, and a statement-based binary log.
import { analyzeFlushesTable, describeFlavour, type ServerFlavour } from '../../db/flavour';
import { item, type Check } from '../check';

/**
 * End of community support per release series, as the vendors announced it (MySQL's lifecycle policy, MariaDB's release
 * calendar), written down on 2026-12-03 from those announcements, not fetched (this table is to be kept up to date by
 * hand). Aurora MySQL follows AWS's own calendar (its 3.x versions are not listed here).
 */
const END_OF_LIFE: readonly { readonly kind: 'mysql' | 'mariadb'; readonly series: string; readonly eol: string }[] = [
  { kind: 'mysql', series: '8.0', eol: '2026-04-30' },
  { kind: 'mysql', series: '8.4', eol: '2032-04-30' },
  { kind: 'mariadb', series: '10.6', eol: '2026-07-06' },
  { kind: 'mariadb', series: '10.11', eol: '2028-02-16' },
  { kind: 'mariadb', series: '11.4', eol: '2029-05-29' },
];

/** The series' end of life and whether it has passed at `now`; undefined for a series the table does not list. */
export function endOfLife(f: ServerFlavour, now: Date): { series: string; eol: string; passed: boolean } | undefined {
  if (f.kind === 'aurora-mysql') return undefined;
  const series = `${f.major}.${f.minor}`;
  const row = END_OF_LIFE.find((r) => r.kind === f.kind && r.series === series);
  return row ? { series, eol: row.eol, passed: now.getTime() >= Date.parse(`${row.eol}T00:00:00Z`) } : undefined;
}

export const versionEndOfLife: Check = {
  code: 'VERSION_END_OF_LIFE',
  async run(ctx) {
    const f = ctx.db.flavour;
    const life = endOfLife(f, ctx.opts.now);
    if (!life) return { items: [], note: `${f.kind} ${f.major}.${f.minor}: no end-of-life date listed` };
    if (!life.passed) return { items: [] };
    const name = f.kind === 'mariadb' ? 'MariaDB' : 'MySQL';
    const next = f.kind === 'mariadb' ? '10.11 or 11.4 (LTS)' : '8.4 (LTS)';
    return {
      items: [
        item(
          'VERSION_END_OF_LIFE',
          'high',
          'server',
          `${name} ${life.series} reached its end of life on ${life.eol}: no more security fixes (this server runs ${f.version})`,
          { version: f.version, series: life.series, endOfLife: life.eol, restartNeeded: true, risk: 'an upgrade: test the application on the new version first' },
          `upgrade to ${name} ${next}${f.kind === 'mysql' ? ' (RDS: a major version upgrade of the instance)' : ''}`,
        ),
      ],
    };
  },
};

export const binlogFormat: Check = {
  code: 'BINLOG_FORMAT',
  async run(ctx) {
    const [v] = await ctx.db.query<{ logBin: number; format: string }>('SELECT @@log_bin AS logBin, @@binlog_format AS format');
    if (Number(v?.logBin) !== 1 || String(v?.format).toUpperCase() === 'ROW') return { items: [] };
    const format = String(v?.format).toUpperCase();
    return {
      items: [
        item(
          'BINLOG_FORMAT',
          'medium',
          'server',
          `binary logging is on with binlog_format ${format}: statement-based logging replays non-deterministic statements differently on replicas, and the retention engine then keeps REPEATABLE READ (gap locks) for its deletes`,
          { logBin: true, binlogFormat: format, restartNeeded: false, risk: 'replicas and binlog consumers must read row events; sessions already connected keep their format' },
          ctx.db.flavour.kind === 'aurora-mysql' ? 'set binlog_format = ROW in the DB cluster parameter group' : `SET ${ctx.db.flavour.kind === 'mariadb' ? 'GLOBAL' : 'PERSIST'} binlog_format = 'ROW'; — RDS: binlog_format = ROW in the DB parameter group`,
        ),
      ],
    };
  },
};

/** A known bug this tool works around: ANALYZE TABLE behind a running query stalls every later query on the table. */
export const analyzeFlushStall: Check = {
  code: 'ANALYZE_STALLS_QUERIES',
  async run(ctx) {
    const f = ctx.db.flavour;
    if (!analyzeFlushesTable(f)) return { items: [] };
    return {
      items: [
        item(
          'ANALYZE_STALLS_QUERIES',
          'medium',
          'server',
          `${describeFlavour(f)}: ANALYZE TABLE on a table that a running statement reads makes every later statement on it wait ("Waiting for table flush") until that statement ends — also the server's own automatic statistics recalculation and any ANALYZE run by hand. analyze-tables skips such tables (thresholds.analyzeBehindQuerySeconds); fixed in MySQL 8.0.24`,
          { version: f.version, fixedIn: '8.0.24', restartNeeded: true, risk: 'an upgrade within 8.0 (minor version): test first; on RDS a minor version upgrade' },
          f.kind === 'aurora-mysql' ? 'upgrade to Aurora MySQL 3.03 or later (MySQL 8.0.26 compatible)' : 'upgrade to MySQL 8.0.24 or later (better 8.4 LTS: 8.0 is past its end of life)',
        ),
      ],
    };
  },
};
