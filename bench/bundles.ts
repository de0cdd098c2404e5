// `npm run bench:bundles`: each task's Lambda bundle built as the stack builds it, before and after per-task bundles: size, gzip, cold require.
import { build, type BuildOptions } from 'esbuild';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { BUNDLE_TARGET, esbuildOptions } from '../infra/bundle-options';
import { TASKS, type TaskDefinition } from '../lib/catalogue';
import { textTable } from '../lib/reporting/text-table';
import { resultTarget, writeResult } from './result-file';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const { values: args } = parseArgs({
  options: {
    /** The revision whose bundles are "before" (default: where this branch left main). */
    before: { type: 'string' },
    /** Fresh `node` processes per bundle and variant; the table shows the median. */
    runs: { type: 'string', default: '11' },
    /** Write the results to this file instead of `bench/scratch/`. */
    out: { type: 'string' },
    /** Write the results as the committed baseline in `bench/results/`, replacing the earlier one. */
    baseline: { type: 'boolean', default: false },
  },
});
// Resolved before anything is built, so that conflicting flags fail at once.
const target = resultTarget({ stem: 'bundles', root: repoRoot, out: args.out, baseline: args.baseline });

const runs = Number(args.runs);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer (got ${String(args.runs)})`);

function git(...a: string[]): string {
  return execFileSync('git', a, { cwd: repoRoot, encoding: 'utf8' }).trim();
}

const beforeRev = args.before ?? git('merge-base', 'HEAD', 'main');

interface Variant {
  readonly name: string;
  /** Options as the stack at that revision passed them to esbuild. */
  readonly options: (entry: string, outfile: string) => BuildOptions;
  readonly root: string;
  readonly nodeOptions: readonly string[];
}

/** The revision's sources in a scratch directory, resolving packages from this checkout's node_modules. */
function checkout(rev: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dbmaint-bench-bundles-'));
  execFileSync('bash', ['-c', `git archive ${rev} functions lib package.json tsconfig.json | tar -x -C "${dir}"`], { cwd: repoRoot });
  symlinkSync(path.join(repoRoot, 'node_modules'), path.join(dir, 'node_modules'));
  return dir;
}

const beforeRoot = checkout(beforeRev);
const variants: Variant[] = [
  {
    // infra/constructs/task-function.ts before this change: CJS, minified, source maps with sources, the SDK's `main` entries.
    name: 'before',
    root: beforeRoot,
    options: (entry, outfile) => ({ entryPoints: [entry], outfile, bundle: true, platform: 'node', format: 'cjs', target: BUNDLE_TARGET, minify: true, sourcemap: true, absWorkingDir: beforeRoot, metafile: true, logLevel: 'error' }),
    nodeOptions: ['--enable-source-maps'],
  },
  { name: 'after', root: repoRoot, options: (entry, outfile) => esbuildOptions(repoRoot, entry, outfile, { sourceMap: false }), nodeOptions: [] },
  {
    name: 'after, sourceMap: true',
    root: repoRoot,
    options: (entry, outfile) => esbuildOptions(repoRoot, entry, outfile, { sourceMap: true }),
    nodeOptions: ['--enable-source-maps'],
  },
];

interface Built {
  readonly task: string;
  readonly variant: string;
  readonly file: string;
  readonly bytes: number;
  readonly gzipBytes: number;
  readonly mapBytes: number;
  readonly sesClient: boolean;
  readonly nodeOptions: readonly string[];
  readonly samples: number[];
}

const outDir = mkdtempSync(path.join(os.tmpdir(), 'dbmaint-bundles-'));
const built: Built[] = [];
for (const v of variants) {
  for (const task of TASKS as readonly TaskDefinition[]) {
    const dir = path.join(outDir, v.name.replace(/\W+/g, '-'), task.id);
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'index.js');
    const result = await build(v.options(path.join(v.root, task.handlerFile), file));
    const inputs = Object.keys(result.metafile?.inputs ?? {});
    const js = readFileSync(file);
    built.push({
      task: task.id,
      variant: v.name,
      file,
      bytes: js.length,
      gzipBytes: gzipSync(js).length,
      mapBytes: existsSync(`${file}.map`) ? statSync(`${file}.map`).size : 0,
      sesClient: inputs.some((f) => f.includes('@aws-sdk/client-ses')),
      nodeOptions: v.nodeOptions,
      samples: [],
    });
  }
}

// What a cold start pays for the code: a fresh process, require() of the bundle (its top-level code, and the map if enabled).
const probe = "const t=process.hrtime.bigint();require(process.argv[1]);process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e6))";
for (let r = 0; r < runs; r++) {
  // Interleaved, so that a slow moment of this shared machine falls on every variant alike.
  for (const b of built) {
    const run = spawnSync(process.execPath, [...b.nodeOptions, '-e', probe, b.file], {
      encoding: 'utf8',
      env: { PATH: process.env['PATH'], LAMBDA_TASK_ROOT: path.dirname(b.file), AWS_REGION: 'eu-central-1' },
    });
    if (run.status !== 0) throw new Error(`require of ${b.file} failed: ${run.stderr}`);
    b.samples.push(Number(run.stdout));
  }
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const kb = (n: number) => (n === 0 ? '-' : `${(n / 1024).toFixed(0)} KB`);
const rows = built.map((b) => [b.task, b.variant, kb(b.bytes), kb(b.gzipBytes), kb(b.mapBytes), b.sesClient ? 'yes' : 'no', median(b.samples).toFixed(1)]);
process.stdout.write(
  `Bundles as the stack builds them (esbuild ${(await import('esbuild')).version}, Node ${process.version}); before = ${beforeRev.slice(0, 7)}; ` +
    `cold require: median of ${runs} fresh node processes per bundle\n\n` +
    textTable(['task', 'variant', 'minified', 'gzip', 'source map', 'SES client', 'cold require ms'], rows) +
    '\n',
);

const replaced = writeResult(
  target,
  JSON.stringify(
    {
      benchmark: 'bundles',
      at: new Date().toISOString(),
      node: process.version,
      before: beforeRev,
      after: git('rev-parse', 'HEAD'),
      runs,
      bundles: built.map((b) => ({
        task: b.task,
        variant: b.variant,
        bytes: b.bytes,
        gzipBytes: b.gzipBytes,
        mapBytes: b.mapBytes,
        sesClient: b.sesClient,
        nodeOptions: b.nodeOptions,
        requireMsMedian: Number(median(b.samples).toFixed(2)),
        requireMs: b.samples.map((x) => Number(x.toFixed(2))),
      })),
    },
    null,
    2,
  ) + '\n',
);
process.stdout.write(`\nwrote ${path.relative(repoRoot, target.file)}\n`);
for (const f of replaced) process.stdout.write(`replaced the earlier baseline ${path.relative(repoRoot, f)}\n`);
