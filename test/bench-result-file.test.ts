// A benchmark run writes to the ignored bench/scratch/ unless asked for a baseline: bench/results/ keeps one per benchmark.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resultTarget, writeResult } from '../bench/result-file';

describe('bench result file', () => {
  const now = new Date('2026-11-26T03:00:00.123Z');
  const repo = () => mkdtempSync(path.join(os.tmpdir(), 'bench-results-'));

  it('sends a run without flags to bench/scratch/, a new name per run, and replaces nothing', () => {
    const root = repo();
    const first = resultTarget({ stem: 'purge', root, now });
    expect(first).toEqual({ file: path.join(root, 'bench', 'scratch', 'purge-2026-11-26T03-00-00-123Z.json'), replaces: [] });
    expect(resultTarget({ stem: 'purge', root, now: new Date(now.getTime() + 1) }).file).not.toBe(first.file);
  });

  it('writes a baseline to bench/results/<stem>-<date>.json and replaces only that benchmark\'s earlier baselines', () => {
    const root = repo();
    const results = path.join(root, 'bench', 'results');
    mkdirSync(results, { recursive: true });
    for (const name of ['purge-2026-11-20.json', 'purge-2026-11-21p.json', 'purge-archive-2026-12-02b.json', 'soak-2026-11-26c.json']) {
      writeFileSync(path.join(results, name), '{}');
    }
    const target = resultTarget({ stem: 'purge', root, now, baseline: true });
    expect(target.file).toBe(path.join(results, 'purge-2026-11-26.json'));
    expect([...target.replaces].sort()).toEqual([path.join(results, 'purge-2026-11-20.json'), path.join(results, 'purge-2026-11-21p.json')]);

    writeResult(target, '{"new":true}');
    expect(readdirSync(results).sort()).toEqual(['purge-2026-11-26.json', 'purge-archive-2026-12-02b.json', 'soak-2026-11-26c.json']);
  });

  it('rewrites a same-day baseline in place rather than picking a letter-suffixed name', () => {
    const root = repo();
    const results = path.join(root, 'bench', 'results');
    mkdirSync(results, { recursive: true });
    writeFileSync(path.join(results, 'stats-2026-11-26.json'), '{}');
    expect(resultTarget({ stem: 'stats', root, now, baseline: true })).toEqual({ file: path.join(results, 'stats-2026-11-26.json'), replaces: [] });
  });

  it('takes --out as given, creating its directory, and refuses --out with --baseline', () => {
    const root = repo();
    const out = path.join(root, 'elsewhere', 'x.json');
    const target = resultTarget({ stem: 'purge', root, now, out });
    expect(target).toEqual({ file: out, replaces: [] });
    writeResult(target, '{}');
    expect(existsSync(out)).toBe(true);
    expect(() => resultTarget({ stem: 'purge', root, out, baseline: true })).toThrow(/either --out or --baseline/);
  });
});
