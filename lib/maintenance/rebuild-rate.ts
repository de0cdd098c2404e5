// The rebuild rate estimates are made with: measured by earlier REBUILD commands of the run log, else the configured default.
import type { OptimizeSettings } from '../config/schema';
import type { RunLog } from '../runlog/command-log';

const MB = 1024 * 1024;

export interface RebuildRate {
  readonly bytesPerSecond: number;
  readonly source: 'measured' | 'default';
  readonly samples: number;
}

/** Rebuild rate from earlier runs' REBUILD commands (bytes of the table before / duration), else the configured default. */
export function rebuildRate(history: Awaited<ReturnType<RunLog['history']>>, settings: OptimizeSettings): RebuildRate {
  let bytes = 0;
  let ms = 0;
  let samples = 0;
  for (const h of history.slice(0, 20)) {
    const b = Number(h.extra?.['totalBytes']);
    if (Number.isFinite(b) && b > 0 && h.durationMs > 0) {
      bytes += b;
      ms += h.durationMs;
      samples++;
    }
  }
  // A few tiny tables measure set-up time, not a rate: require 64 MB of evidence.
  if (samples > 0 && bytes >= 64 * MB) return { bytesPerSecond: Math.round(bytes / (ms / 1000)), source: 'measured', samples };
  return { bytesPerSecond: settings.defaultRebuildMbPerSecond * MB, source: 'default', samples };
}
