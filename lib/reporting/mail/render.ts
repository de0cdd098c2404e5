// The three report mails (daily, weekly, alert) built from report data: subject, HTML and plain text.
import { PRIORITIES, type Recommendation } from '../../recommend/types';
import type {
  AlertData,
  DailyReportData,
  DatabaseFigures,
  RenderedMail,
  TaskDigestRow,
  TaskRunDigest,
  WeeklyReportData,
} from '../report-data';
import { formatBytes } from '../text-table';
import { formatCount, formatDuration, formatPeriod, formatSignedBytes, formatUtc, plural, PRIORITY_TONE, STATUS_TONE } from './format';
import { table, toHtml, toText, type Block, type CellInput } from './layout';

function mail(subject: string, blocks: readonly Block[]): RenderedMail {
  return { subject, text: toText(blocks), html: toHtml(subject, blocks) };
}

function header(d: { target: string; server?: string; periodStart: string; periodEnd: string }): Block {
  return {
    kind: 'fields',
    rows: [['Target', d.target], ...(d.server ? [['Server', d.server] as const] : []), ['Period', formatPeriod(d.periodStart, d.periodEnd)]],
  };
}

const count = (runs: readonly TaskRunDigest[], status: TaskRunDigest['status']) => runs.filter((r) => r.status === status).length;

/** High first, then medium, then low; the given order within a priority. */
function byPriority(recs: readonly Recommendation[]): Recommendation[] {
  return [...recs].sort((a, b) => PRIORITIES.indexOf(a.priority) - PRIORITIES.indexOf(b.priority));
}

function recommendationBlocks(recs: readonly Recommendation[], unknown = false): Block[] {
  if (recs.length === 0 && unknown) return [{ kind: 'paragraph', cell: { text: 'Not known: the task-run table cannot be read (see Run log above).', tone: 'warn' } }];
  if (recs.length === 0) return [{ kind: 'paragraph', cell: 'No open recommendations.' }];
  const rows = byPriority(recs).map((r): CellInput[] => [
    { text: r.priority, tone: PRIORITY_TONE[r.priority] },
    r.code,
    r.object,
    r.message,
    r.fix ? { text: r.fix, code: true } : '',
  ]);
  return [table(['priority', 'code', 'object', 'message', 'fix'], rows, { listTitleColumns: 3 })];
}

function beforeAfter(r: TaskDigestRow): string {
  if (r.beforeBytes === undefined && r.afterBytes === undefined) return '';
  const b = (n: number | undefined) => (n === undefined ? '?' : formatBytes(n));
  return `${b(r.beforeBytes)} → ${b(r.afterBytes)}`;
}

function digestRow(r: TaskDigestRow): CellInput[] {
  return [
    r.table,
    r.action,
    r.rows === undefined ? '' : formatCount(r.rows),
    r.remaining === undefined ? '' : r.remaining === null ? 'unknown' : formatCount(r.remaining),
    r.reclaimedBytes === undefined ? '' : formatBytes(r.reclaimedBytes),
    beforeAfter(r),
    r.durationSeconds === undefined ? '' : formatDuration(r.durationSeconds),
    r.detail ?? '',
  ];
}

function runBlocks(run: TaskRunDigest): Block[] {
  const blocks: Block[] = [
    {
      kind: 'subheading',
      parts: [
        run.task,
        { text: run.status, tone: STATUS_TONE[run.status] },
        formatDuration(run.durationSeconds),
        `started ${formatUtc(run.startedAt)}`,
        ...(run.dryRun ? [{ text: 'dry run', tone: 'muted' as const }] : []),
      ],
    },
    { kind: 'paragraph', cell: run.headline },
  ];
  if (run.error) blocks.push({ kind: 'paragraph', cell: { text: `Error: ${run.error}`, tone: 'bad' } });
  if (run.rows.length) {
    blocks.push(
      table(['table', 'action', 'rows', 'remaining', 'reclaimed', 'before → after', 'took', 'detail'], run.rows.map(digestRow), {
        numeric: ['rows', 'remaining', 'reclaimed', 'took'],
      }),
    );
  }
  return blocks;
}

/** Said near the top: a report built without dbmaint's own tables is missing parts, and the GRANT fixes it. */
function windowBlocks(lines: readonly string[] | undefined): Block[] {
  if (!lines?.length) return [];
  return [{ kind: 'heading', text: 'Maintenance window' }, ...lines.map((l): Block => ({ kind: 'paragraph', cell: { text: l, ...(l.includes('left when') ? { tone: 'warn' as const } : {}) } }))];
}

function notesBlocks(notes: readonly string[] | undefined): Block[] {
  if (!notes?.length) return [];
  return [{ kind: 'heading', text: 'Run log' }, ...notes.map((n): Block => ({ kind: 'paragraph', cell: { text: n, tone: 'warn' } }))];
}

function databaseBlock(db: DatabaseFigures): Block {
  const limit = db.storageLimitBytes;
  return {
    kind: 'fields',
    rows: [
      ['Size', `${formatBytes(db.totalBytes)} in ${plural(db.tableCount, 'table')}`],
      ['Growth', db.growthBytesPerDay === null ? { text: 'not enough history yet', tone: 'muted' } : `${formatSignedBytes(Math.round(db.growthBytesPerDay))}/day`],
      ['Storage limit', limit === null ? { text: 'none configured', tone: 'muted' } : `${formatBytes(limit)} (${((db.totalBytes / limit) * 100).toFixed(1)}% used)`],
      ['Days to limit', daysToLimit(db.daysToStorageLimit, limit !== null)],
    ],
  };
}

function daysToLimit(days: number | null, hasLimit: boolean): CellInput {
  if (!hasLimit) return { text: '-', tone: 'muted' };
  if (days === null) return { text: 'no projection (not growing, or not enough history)', tone: 'muted' };
  const text = plural(Math.floor(days), 'day');
  return days < 30 ? { text, tone: 'bad' } : days < 90 ? { text, tone: 'warn' } : text;
}

export function renderDailyReport(d: DailyReportData): RenderedMail {
  const failed = count(d.runs, 'failed');
  const stopped = count(d.runs, 'stopped-at-deadline');
  const high = d.recommendations.filter((r) => r.priority === 'high').length;
  const problems = [
    ...(failed ? [`${failed} failed`] : []),
    ...(stopped ? [`${stopped} stopped at deadline`] : []),
    ...(high ? [plural(high, 'high-priority recommendation')] : []),
  ];
  const summary = problems.length ? problems.join(', ') : d.runs.length ? `${plural(d.runs.length, 'run')}, no failures` : 'no task runs';
  const blocks: Block[] = [
    { kind: 'title', text: `Daily maintenance report: ${d.target}` },
    header(d),
    ...notesBlocks(d.notes),
    { kind: 'heading', text: `Task runs (${d.runs.length})` },
    ...(d.runs.length ? d.runs.flatMap(runBlocks) : [{ kind: 'paragraph', cell: 'No task ran in this period.' } as const]),
    ...windowBlocks(d.window),
    ...(d.database ? [{ kind: 'heading', text: 'Database' } as const, databaseBlock(d.database)] : []),
    { kind: 'heading', text: 'Top recommendations' },
    ...recommendationBlocks(d.recommendations, d.recommendationsUnknown),
  ];
  return mail(`[dbmaint] ${d.target}: daily maintenance — ${summary}`, blocks);
}

function sizeOrUnknown(n: number | null): CellInput {
  return n === null ? { text: 'unknown', tone: 'muted' } : formatBytes(n);
}

function weekRunsBlock(runs: readonly TaskRunDigest[]): Block {
  if (runs.length === 0) return { kind: 'paragraph', cell: 'No task ran this week.' };
  const rows = runs.map((r): CellInput[] => [
    formatUtc(r.startedAt),
    r.task,
    { text: r.status, tone: STATUS_TONE[r.status] },
    formatDuration(r.durationSeconds),
    r.dryRun ? `(dry run) ${r.headline}` : r.headline,
    r.error ? { text: r.error, tone: 'bad' } : '',
  ]);
  return table(['started', 'task', 'status', 'took', 'result', 'error'], rows, { numeric: ['took'] });
}

function weekSizeBlock(d: WeeklyReportData): Block {
  const c = d.capacity;
  return {
    kind: 'fields',
    rows: [
      ['Start of week', sizeOrUnknown(d.sizeStart)],
      ['End of week', sizeOrUnknown(d.sizeEnd)],
      ['Change', d.sizeStart === null || d.sizeEnd === null ? { text: 'unknown', tone: 'muted' } : formatSignedBytes(d.sizeEnd - d.sizeStart)],
      ['Growth', d.growthBytesPerDay === null ? { text: 'not enough history yet', tone: 'muted' } : `${formatSignedBytes(Math.round(d.growthBytesPerDay))}/day`],
      ...(c
        ? ([
            ['Storage limit', `${formatBytes(c.limitBytes)} (${c.usedPercent}% used)`],
            ['Days to limit', daysToLimit(c.daysToLimit, true)],
          ] as const)
        : []),
    ],
  };
}

function topTablesBlock(d: WeeklyReportData): Block {
  if (d.topTables.length === 0) return { kind: 'paragraph', cell: 'No table size history this week.' };
  const rows = d.topTables.map((t): CellInput[] => [
    t.table,
    t.bytesStart === null ? 'new' : formatBytes(t.bytesStart),
    formatBytes(t.bytesEnd),
    t.growthBytes === null ? '-' : formatSignedBytes(t.growthBytes),
  ]);
  return table(['table', 'start', 'end', 'growth'], rows, { numeric: ['start', 'end', 'growth'] });
}

export function renderWeeklyReport(d: WeeklyReportData): RenderedMail {
  const failed = count(d.runs, 'failed');
  const size =
    d.sizeEnd === null ? 'size unknown' : `${formatBytes(d.sizeEnd)}${d.sizeStart === null ? '' : ` (${formatSignedBytes(d.sizeEnd - d.sizeStart)})`}`;
  const blocks: Block[] = [
    { kind: 'title', text: `Weekly maintenance summary: ${d.target}` },
    header(d),
    ...notesBlocks(d.notes),
    { kind: 'heading', text: `Task runs (${d.runs.length}${failed ? `, ${failed} failed` : ''})` },
    weekRunsBlock(d.runs),
    ...windowBlocks(d.window),
    { kind: 'heading', text: 'Database size and capacity' },
    weekSizeBlock(d),
    { kind: 'heading', text: 'Top tables by growth' },
    topTablesBlock(d),
    { kind: 'heading', text: 'Open recommendations' },
    ...recommendationBlocks(d.recommendations, d.recommendationsUnknown),
  ];
  return mail(`[dbmaint] ${d.target}: weekly summary — ${size}${failed ? `, ${plural(failed, 'failed run')}` : ''}`, blocks);
}

const KIND_LABEL = { recommendation: 'recommendation', 'task-failed': 'task failed' } as const;

export function renderAlert(d: AlertData): RenderedMail {
  const blocks: Block[] = [
    { kind: 'title', text: `Alert: ${d.target}` },
    { kind: 'fields', rows: [['Target', d.target], ['Generated', formatUtc(d.generatedAt)], ['Conditions', String(d.conditions.length)]] },
    ...d.conditions.flatMap((c): Block[] => [
      { kind: 'subheading', parts: [{ text: KIND_LABEL[c.kind], tone: 'bad' }, c.title] },
      { kind: 'paragraph', cell: c.detail },
    ]),
  ];
  return mail(`[dbmaint] ALERT ${d.target}: ${plural(d.conditions.length, 'condition')}`, blocks);
}
