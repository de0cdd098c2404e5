// Where a benchmark writes its results when --out is not given: a new file, never one already there.
import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * `<dir>/<stem>-<date>.json`, or with the first free letter after the date (`…-2026-11-26b.json`): results are
 * committed, and a second run on the same day must not overwrite the first one's figures.
 */
export function freshResultPath(dir: string, stem: string, now: Date = new Date()): string {
  const date = now.toISOString().slice(0, 10);
  for (const suffix of ['', ...'bcdefghijklmnopqrstuvwxyz']) {
    const file = path.join(dir, `${stem}-${date}${suffix}.json`);
    if (!existsSync(file)) return file;
  }
  throw new Error(`every ${stem}-${date}*.json name in ${dir} is taken: pass --out`);
}
