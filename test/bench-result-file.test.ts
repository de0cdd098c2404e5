// bench:purge writes its results to a new file unless told otherwise: a run must not overwrite committed figures.
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { freshResultPath } from '../bench/result-file';

describe('bench result file', () => {
  const now = new Date('2026-11-26T03:00:00Z');

  it('names the file after the date when the day has no result yet', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-results-'));
    expect(freshResultPath(dir, 'purge', now)).toBe(path.join(dir, 'purge-2026-11-26.json'));
  });

  it('never returns a file that exists: a second run the same day gets the next letter', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-results-'));
    writeFileSync(path.join(dir, 'purge-2026-11-26.json'), '{}');
    writeFileSync(path.join(dir, 'purge-2026-11-26b.json'), '{}');
    writeFileSync(path.join(dir, 'soak-2026-11-26c.json'), '{}');
    expect(freshResultPath(dir, 'purge', now)).toBe(path.join(dir, 'purge-2026-11-26c.json'));
  });
});
