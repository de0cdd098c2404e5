// Server-wide checks: connections against max_connections, and the statements that cost the most time.
import { errorText, isMissingTable, item, round, uptimeText, type Check } from '../check';
import { globalStatus } from '../../db/global-status';
import { performanceSchemaReadable } from '../server-status';
import type { Priority, Recommendation } from '../types';

const DIGEST_TEXT_CHARS = 200;
const TOP_STATEMENTS = 10;

export const connectionUsage: Check = {
  code: 'CONNECTION_USAGE',
  async run(ctx) {
    const status = await globalStatus(ctx.db, ['Threads_connected', 'Max_used_connections', 'Uptime']);
    const [v] = await ctx.db.query<{ max: number }>('SELECT @@max_connections AS max');
    const max = Number(v?.max ?? 0);
    if (max <= 0) return { skipped: 'max_connections is not readable' };
    const now = status.get('Threads_connected')!;
    const peak = Math.max(now, status.get('Max_used_connections')!);
    const nowPercent = round((now / max) * 100);
    const peakPercent = round((peak / max) * 100);
    const { connectionsWarningPercent: warn, connectionsCriticalPercent: critical } = ctx.opts.settings;
    // Reported when either figure crosses the warning level: a nightly run sees few connections, the
    // peak since restart shows how close the day came. But only the current figure makes it high:
    // Max_used_connections keeps a one-off spike until the next restart (or FLUSH STATUS), and a
    // high-priority item raised by it would alert every day for months about something long over.
    let priority: Priority | undefined;
    if (nowPercent >= critical) priority = 'high';
    else if (nowPercent >= warn || peakPercent >= warn) priority = 'medium';
    if (!priority) return { items: [] };
    const uptime = status.get('Uptime')!;
    // A limit the peak would stay under at the warning level.
    const suggested = Math.max(max + 1, Math.ceil((peak * 100) / warn) + 1);
    return {
      items: [
        item(
          'CONNECTION_USAGE',
          priority,
          'server',
          `${now} of ${max} connections in use now (${nowPercent}%), peak ${peak} (${peakPercent}%) since the server started ${uptimeText(uptime)} ago`,
          { threadsConnected: now, maxUsedConnections: peak, maxConnections: max, connectedPercent: nowPercent, peakPercent, warningPercent: warn, criticalPercent: critical, uptimeSeconds: uptime },
          `/* pool connections in the application, or raise the limit (RDS/Aurora: max_connections in the DB parameter group, memory permitting): */\nSET GLOBAL max_connections = ${suggested}`,
        ),
      ],
    };
  },
};

interface DigestRow {
  schemaName: string | null;
  digest: string;
  text: string | null;
  calls: number;
  totalSeconds: number;
  avgSeconds: number;
  maxSeconds: number;
  lastSeen: Date | string | null;
}

export const slowStatements: Check = {
  code: 'SLOW_STATEMENT',
  async run(ctx) {
    const readable = await performanceSchemaReadable(ctx, undefined, 'statements_digest');
    if (readable !== true) return { skipped: readable === false ? 'performance_schema is off: statement digests are not collected' : readable };
    let rows: DigestRow[];
    try {
      // Timer columns are picoseconds; divided on the server, where the sums still fit their BIGINT.
      rows = await ctx.db.query<DigestRow>(
        `SELECT SCHEMA_NAME AS schemaName, DIGEST AS digest, DIGEST_TEXT AS text, COUNT_STAR AS calls,
                SUM_TIMER_WAIT / 1e12 AS totalSeconds, AVG_TIMER_WAIT / 1e12 AS avgSeconds, MAX_TIMER_WAIT / 1e12 AS maxSeconds,
                LAST_SEEN AS lastSeen
           FROM performance_schema.events_statements_summary_by_digest
          WHERE DIGEST IS NOT NULL
          ORDER BY SUM_TIMER_WAIT DESC
          LIMIT ${TOP_STATEMENTS}`,
      );
    } catch (err) {
      if (isMissingTable(err)) return { skipped: `statement digests are not readable: ${errorText(err)}` };
      throw err;
    }
    const { slowQueryWarningSeconds: warn, slowQueryCriticalSeconds: critical } = ctx.opts.settings;
    const items: Recommendation[] = [];
    for (const r of rows) {
      const avg = Number(r.avgSeconds);
      if (avg < warn) continue;
      const text = (r.text ?? r.digest).replace(/\s+/g, ' ').trim();
      const object = text.length > DIGEST_TEXT_CHARS ? `${text.slice(0, DIGEST_TEXT_CHARS - 1)}…` : text;
      items.push(
        item(
          'SLOW_STATEMENT',
          avg >= critical ? 'high' : 'medium',
          object,
          `a statement${r.schemaName ? ` in ${r.schemaName}` : ''} averages ${round(avg, 3)} s over ${Number(r.calls)} executions (${round(Number(r.totalSeconds), 1)} s in total)`,
          {
            schema: r.schemaName,
            digest: r.digest,
            calls: Number(r.calls),
            avgSeconds: round(avg, 3),
            maxSeconds: round(Number(r.maxSeconds), 3),
            totalSeconds: round(Number(r.totalSeconds), 1),
            lastSeen: r.lastSeen instanceof Date ? r.lastSeen.toISOString() : r.lastSeen,
            warningSeconds: warn,
            criticalSeconds: critical,
          },
        ),
      );
    }
    return { items };
  },
};
