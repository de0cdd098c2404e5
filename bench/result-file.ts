// Where a benchmark writes its results. `bench/results/` is committed and holds one baseline per benchmark, so a
// run only goes there when asked (`--baseline`); every other run goes to the ignored `bench/scratch/`.
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface ResultTarget {
  /** The file the results are written to. */
  readonly file: string;
  /** Earlier baselines of the same benchmark, removed once the new one is written (git keeps them). */
  readonly replaces: readonly string[];
}

export interface ResultOptions {
  /** The benchmark's name: `purge`, `stats`, … */
  readonly stem: string;
  /** `--out`: exactly this file, nothing replaced. */
  readonly out?: string | undefined;
  /** `--baseline`: the benchmark's baseline in `bench/results/`. */
  readonly baseline?: boolean | undefined;
  readonly root?: string;
  readonly now?: Date;
}

/**
 * `--out` as given; `--baseline`: `bench/results/<stem>-<date>.json`, replacing the benchmark's earlier baseline
 * (`<stem>-<date>.json`, old letter-suffixed names included, but not another benchmark such as `purge-archive-…`);
 * otherwise `bench/scratch/<stem>-<timestamp>.json`, a new name per run so scratch runs never overwrite each other.
 */
export function resultTarget(options: ResultOptions): ResultTarget {
  const { stem, out, baseline = false, root = REPO_ROOT, now = new Date() } = options;
  if (out !== undefined && baseline) throw new Error('pass either --out or --baseline, not both');
  if (out !== undefined) return { file: path.resolve(out), replaces: [] };
  if (!baseline) {
    const stamp = now.toISOString().replace(/[:.]/g, '-');
    return { file: path.join(root, 'bench', 'scratch', `${stem}-${stamp}.json`), replaces: [] };
  }
  const dir = path.join(root, 'bench', 'results');
  const file = path.join(dir, `${stem}-${now.toISOString().slice(0, 10)}.json`);
  const earlier = new RegExp(`^${stem.replace(/[^a-z0-9]/gi, (c) => `\\${c}`)}-\\d{4}-\\d{2}-\\d{2}[a-z]?\\.json$`);
  const replaces = existsSync(dir)
    ? readdirSync(dir)
        .filter((name) => earlier.test(name))
        .map((name) => path.join(dir, name))
        .filter((f) => f !== file)
    : [];
  return { file, replaces };
}

/** Writes the results, then removes the baselines they replace; returns what was removed, for the bench to say. */
export function writeResult(target: ResultTarget, text: string): readonly string[] {
  mkdirSync(path.dirname(target.file), { recursive: true });
  writeFileSync(target.file, text);
  for (const f of target.replaces) rmSync(f);
  return target.replaces;
}
