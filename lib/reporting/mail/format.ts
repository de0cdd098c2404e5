// Value formatting shared by the mail renderers: the plain-text and HTML parts show the same strings.
import type { Priority } from '../../recommend/types';
import type { DigestStatus } from '../report-data';
import { formatBytes } from '../text-table';
import type { Tone } from './layout';

/** 1204331 → "1,204,331". */
export function formatCount(n: number): string {
  return n.toLocaleString('en');
}

/** 12.34 → "12.3 s", 754 → "12 min 34 s", 7260 → "2 h 1 min". */
export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const s = Math.round(seconds);
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** A size change with its sign: "+1.1 GiB", "-200.0 MiB", "±0 B". */
export function formatSignedBytes(n: number): string {
  if (n === 0) return '±0 B';
  return n > 0 ? `+${formatBytes(n)}` : formatBytes(n);
}

/** ISO timestamp → "2026-03-14 02:00 UTC"; anything unparsable is shown as given. */
export function formatUtc(iso: string): string {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? iso : `${new Date(t).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export function formatPeriod(start: string, end: string): string {
  return `${formatUtc(start)} – ${formatUtc(end)}`;
}

/** "1 condition", "2 conditions". */
export function plural(n: number, singular: string, pluralForm = `${singular}s`): string {
  return `${n} ${n === 1 ? singular : pluralForm}`;
}

export const STATUS_TONE: Readonly<Record<DigestStatus, Tone>> = {
  succeeded: 'good',
  failed: 'bad',
  'stopped-at-deadline': 'warn',
  skipped: 'muted',
  // Not run because another heavy task held the server: the work waits for the next run.
  deferred: 'warn',
};

export const PRIORITY_TONE: Readonly<Record<Priority, Tone>> = {
  high: 'bad',
  medium: 'warn',
  low: 'muted',
};
