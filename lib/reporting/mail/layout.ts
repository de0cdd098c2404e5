// A report mail as a list of blocks, written out twice: as an HTML document for mail clients
// (inline styles only, every value escaped) and as plain text with the same content.
import { textTable } from '../text-table';

export type Tone = 'good' | 'bad' | 'warn' | 'muted';

export interface Cell {
  readonly text: string;
  readonly tone?: Tone;
  /** Monospace in HTML (SQL, identifiers in fixes). */
  readonly code?: boolean;
}

export type CellInput = string | Cell;

export interface TableBlock {
  readonly kind: 'table';
  readonly headers: readonly string[];
  readonly rows: readonly (readonly CellInput[])[];
  /** Columns (by index) that hold numbers: right-aligned in HTML. */
  readonly numeric: readonly number[];
  /**
   * Plain text only: write each row as a small record instead of a wide line. The first
   * `listTitleColumns` cells make the record's first line, the others follow as "header: value".
   */
  readonly listTitleColumns?: number;
}

export type Block =
  | { readonly kind: 'title'; readonly text: string }
  | { readonly kind: 'heading'; readonly text: string }
  | { readonly kind: 'subheading'; readonly parts: readonly CellInput[] }
  | { readonly kind: 'fields'; readonly rows: readonly (readonly [string, CellInput])[] }
  | { readonly kind: 'paragraph'; readonly cell: CellInput }
  | TableBlock;

const cellOf = (c: CellInput): Cell => (typeof c === 'string' ? { text: c } : c);

/**
 * A table block without the columns that are empty in every row (an analyze run has no byte
 * figures, a purge no before/after sizes).
 */
export function table(
  headers: readonly string[],
  rows: readonly (readonly CellInput[])[],
  opts: { numeric?: readonly string[]; keep?: readonly string[]; listTitleColumns?: number } = {},
): TableBlock {
  const keep = headers.map((h, i) => (opts.keep ?? []).includes(h) || rows.some((r) => cellOf(r[i] ?? '').text !== ''));
  const pick = <T>(xs: readonly T[]): T[] => xs.filter((_, i) => keep[i]);
  const kept = pick(headers);
  return {
    kind: 'table',
    headers: kept,
    rows: rows.map(pick),
    numeric: kept.flatMap((h, i) => ((opts.numeric ?? []).includes(h) ? [i] : [])),
    ...(opts.listTitleColumns !== undefined ? { listTitleColumns: opts.listTitleColumns } : {}),
  };
}

// ---- HTML -------------------------------------------------------------------------------------

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text → HTML text or attribute value. */
function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

const TONE_COLOUR: Readonly<Record<Tone, string>> = {
  good: '#1a7f37',
  bad: '#cf222e',
  warn: '#9a6700',
  muted: '#57606a',
};

const BORDER = '1px solid #d0d7de';
const CELL_PAD = 'padding:4px 8px;';

function htmlCell(input: CellInput): string {
  const c = cellOf(input);
  let out = escapeHtml(c.text).replace(/\r?\n/g, '<br>');
  if (c.code) out = `<code style="font-family:Consolas,Menlo,'Courier New',monospace;font-size:12px;">${out}</code>`;
  if (c.tone) out = `<span style="color:${TONE_COLOUR[c.tone]};${c.tone === 'muted' ? '' : 'font-weight:bold;'}">${out}</span>`;
  return out;
}

function htmlTable(b: TableBlock): string {
  const align = (i: number) => (b.numeric.includes(i) ? 'right' : 'left');
  const th = b.headers
    .map((h, i) => `<th style="${CELL_PAD}border:${BORDER};background:#f6f8fa;text-align:${align(i)};font-weight:bold;white-space:nowrap;">${escapeHtml(h)}</th>`)
    .join('');
  const trs = b.rows.map(
    (r) =>
      `<tr>${b.headers
        .map((_, i) => `<td style="${CELL_PAD}border:${BORDER};text-align:${align(i)};vertical-align:top;${b.numeric.includes(i) ? 'white-space:nowrap;' : ''}">${htmlCell(r[i] ?? '')}</td>`)
        .join('')}</tr>`,
  );
  return [
    `<table cellpadding="0" cellspacing="0" border="0" style="border-collapse:collapse;margin:4px 0 12px 0;font-size:13px;">`,
    `<thead><tr>${th}</tr></thead>`,
    `<tbody>`,
    ...trs,
    `</tbody>`,
    `</table>`,
  ].join('\n');
}

function htmlBlock(b: Block): string {
  switch (b.kind) {
    case 'title':
      return `<h1 style="font-size:20px;margin:0 0 12px 0;">${escapeHtml(b.text)}</h1>`;
    case 'heading':
      return `<h2 style="font-size:16px;margin:24px 0 8px 0;padding-bottom:4px;border-bottom:${BORDER};">${escapeHtml(b.text)}</h2>`;
    case 'subheading':
      return `<h3 style="font-size:14px;margin:16px 0 4px 0;">${b.parts.map(htmlCell).join(' &middot; ')}</h3>`;
    case 'fields':
      return [
        `<table role="presentation" cellpadding="0" cellspacing="0" border="0" style="border-collapse:collapse;">`,
        ...b.rows.map(
          ([label, value]) =>
            `<tr><td style="padding:2px 16px 2px 0;color:#57606a;white-space:nowrap;vertical-align:top;">${escapeHtml(label)}</td><td style="padding:2px 0;vertical-align:top;">${htmlCell(value)}</td></tr>`,
        ),
        `</table>`,
      ].join('\n');
    case 'paragraph':
      return `<p style="margin:4px 0;">${htmlCell(b.cell)}</p>`;
    case 'table':
      return htmlTable(b);
  }
}

/** A complete HTML document: no style blocks, scripts, images or links, so nothing is fetched or stripped. */
export function toHtml(title: string, blocks: readonly Block[]): string {
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`,
    '</head>',
    '<body style="margin:0;padding:16px;background-color:#ffffff;color:#1f2328;font-family:Arial,Helvetica,sans-serif;font-size:14px;line-height:1.4;">',
    ...blocks.map(htmlBlock),
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

// ---- plain text -------------------------------------------------------------------------------

/** One line per table cell: line breaks inside a value would tear the table apart. */
const flat = (c: CellInput) => cellOf(c).text.replace(/\s*\r?\n\s*/g, ' ');

function textList(b: TableBlock, titleColumns: number): string {
  return b.rows
    .map((r) => {
      const title = r.slice(0, titleColumns).map(flat).filter(Boolean).join('  ');
      const rest = b.headers.slice(titleColumns).flatMap((h, j) => {
        const v = cellOf(r[titleColumns + j] ?? '').text;
        return v ? [`    ${h}: ${v.replace(/\r?\n/g, '\n      ')}`] : [];
      });
      return [title, ...rest].join('\n');
    })
    .join('\n\n');
}

function textBlock(b: Block): string {
  switch (b.kind) {
    case 'title':
      return `${b.text}\n${'='.repeat(b.text.length)}`;
    case 'heading':
      return `${b.text}\n${'-'.repeat(b.text.length)}`;
    case 'subheading':
      return b.parts.map(flat).join(' · ');
    case 'fields': {
      const width = Math.max(...b.rows.map(([label]) => label.length));
      return b.rows.map(([label, value]) => `${label.padEnd(width)}  ${flat(value)}`).join('\n');
    }
    case 'paragraph':
      return cellOf(b.cell).text;
    case 'table':
      return b.listTitleColumns !== undefined
        ? textList(b, b.listTitleColumns)
        : textTable(
            b.headers,
            b.rows.map((r) => b.headers.map((_, i) => flat(r[i] ?? ''))),
          );
  }
}

export function toText(blocks: readonly Block[]): string {
  return blocks.map(textBlock).join('\n\n') + '\n';
}
