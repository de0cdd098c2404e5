// `npm run dbmaint -- <task-id> [options]`: the local runner's command line.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROUTINES, scheduleTextOf, TASKS } from '../lib/catalogue';
import type { DbMaintConfig } from '../lib/config/schema';
import { renderTaskSummary } from '../lib/reporting/text-summary';
import { jsonLineLog } from '../lib/runtime/log';
import { describeEmf, loadConfig, runLocal, runLocalRoutine, UsageError } from './local-runner';
import type { OutgoingMail } from '../lib/reporting/mail/sender';
import { parseCommandLine } from './cli-flags';
import { EXIT, exitCodeOfError, exitCodeOfRoutine, exitCodeOfStatus, type ExitCode } from './exit-codes';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function printMails(io: CliIo, mails: readonly OutgoingMail[]): void {
  for (const m of mails) {
    io.stdout.write(`\n--- mail captured locally (set DBMAINT_SES_ENDPOINT to send it through SES) ---\nFrom: ${m.from}\nTo: ${m.to.join(', ')}\nSubject: ${m.subject}\n\n${m.text}\n`);
  }
}

const USAGE = `usage: npm run dbmaint -- <task-id> [--dry-run] [--json] [--config FILE] [--target NAME]
                              [--tables a,b|schema.t] [--force] [--max-run-seconds N] [--days-old N]
       npm run dbmaint -- <routine-id> [--dry-run] [--json] [--config FILE] [--target NAME]
       npm run dbmaint -- list
       npm run dbmaint -- cost [--config FILE] [--json]      the stack's monthly cost estimate (docs/cost.md)

Exit status: 0 succeeded (also stopped at the time budget, or skipped), 1 the task failed, 2 invalid input
(flag, payload, configuration), 3 the database or AWS could not be reached (docs/cli.md).

The task runs its real Lambda handler in-process. DBMAINT_DATABASE_URL=mysql://user:pass@host:port/schema
replaces the connection of the selected target (without --config, it also names the one schema to maintain).
Tasks: ${TASKS.map((t) => t.id).join(', ')}
Routines: ${ROUTINES.map((r) => r.id).join(', ')}`;

/** Where the CLI writes; the tests pass their own. */
export interface CliIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** A named target must be configured; without one, exactly one target must be (as the payload's `target` field). */
function checkTarget(config: DbMaintConfig, target: string | undefined): void {
  const names = config.targets.map((t) => t.name);
  if (target !== undefined && !names.includes(target)) throw new UsageError(`--target: unknown target '${target}' (configured: ${names.join(', ')})`);
  if (target === undefined && names.length > 1) throw new UsageError(`--target: required, several targets are configured (${names.join(', ')})`);
}

async function run(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  const cli = parseCommandLine(argv);
  if (cli.kind === 'help') {
    io.stdout.write(USAGE + '\n');
    return EXIT.succeeded;
  }
  if (cli.kind === 'list') {
    for (const t of TASKS) io.stdout.write(`${t.id.padEnd(22)} ${t.title.padEnd(28)} ${scheduleTextOf(t)}\n`);
    for (const r of ROUTINES) io.stdout.write(`${r.id.padEnd(22)} ${r.title.padEnd(28)} ${r.scheduleText}: ${r.steps.map((s) => s.task).join(' → ')}\n`);
    return EXIT.succeeded;
  }
  if (cli.kind === 'cost') {
    const config = loadConfig(cli.config !== undefined ? { configFile: cli.config } : {});
    // Loaded here only: the CDK libraries it synthesizes with would slow every other verb's start.
    const [{ estimateCost }, { renderCost }, { synthTemplates }] = await Promise.all([import('../infra/cost/estimate'), import('../infra/cost/render'), import('../infra/cost/synth-templates')]);
    const estimate = estimateCost(config, synthTemplates(config, repoRoot));
    io.stdout.write((cli.json ? JSON.stringify(estimate, null, 2) : renderCost(estimate)) + '\n');
    return EXIT.succeeded;
  }
  const databaseUrl = io.env['DBMAINT_DATABASE_URL'] || undefined;
  const config = loadConfig({ ...(cli.config !== undefined ? { configFile: cli.config } : {}), ...(databaseUrl ? { databaseUrl } : {}) });
  const log = jsonLineLog((line) => io.stderr.write(line + '\n'));
  const common = { config, ...(databaseUrl ? { databaseUrl } : {}), log };
  if (cli.kind === 'routine') {
    checkTarget(config, cli.target);
    const out = await runLocalRoutine({ ...common, routine: cli.routine, ...(cli.target !== undefined ? { target: cli.target } : {}), dryRun: cli.dryRun });
    if (cli.json) {
      io.stdout.write(JSON.stringify({ routine: out.routine, emf: out.emf.map((l) => JSON.parse(l) as unknown) }, null, 2) + '\n');
    } else {
      for (const step of out.routine.steps) {
        io.stdout.write(`\n=== ${out.routine.routine}: ${step.task} — ${step.status} ===\n\n`);
        io.stdout.write((step.run ? renderTaskSummary(step.run) : `error: ${step.error ?? ''}`) + '\n');
      }
      printMails(io, out.mails);
      io.stdout.write('\nMetrics it would publish (CloudWatch EMF):\n' + describeEmf(out.emf) + '\n');
    }
    return exitCodeOfRoutine(out.routine, out.stepErrors);
  }
  const event = cli.event as { target?: string; dryRun?: boolean; tables?: string[]; force?: boolean; maxRunSeconds?: number; daysOld?: number };
  checkTarget(config, event.target);
  const out = await runLocal({
    ...common,
    task: cli.task,
    ...(event.target !== undefined ? { target: event.target } : {}),
    dryRun: event.dryRun === true,
    ...(event.tables !== undefined ? { tables: event.tables } : {}),
    force: event.force === true,
    ...(event.maxRunSeconds !== undefined ? { maxRunSeconds: event.maxRunSeconds } : {}),
    ...(event.daysOld !== undefined ? { daysOld: event.daysOld } : {}),
  });
  if (cli.json) {
    io.stdout.write(JSON.stringify({ result: out.result, emf: out.emf.map((l) => JSON.parse(l) as unknown) }, null, 2) + '\n');
  } else {
    io.stdout.write(renderTaskSummary(out.result) + '\n');
    printMails(io, out.mails);
    io.stdout.write('\nMetrics it would publish (CloudWatch EMF):\n' + describeEmf(out.emf) + '\n');
  }
  return exitCodeOfStatus(out.result.status);
}

/** The whole command: never throws; every failure is one `dbmaint:` line (a stack only for a bug) and an exit status. */
export async function main(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  try {
    return await run(argv, io);
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    const code = exitCodeOfError(e);
    // A task's own failure or an unreachable server is reported, not debugged: the stack is for errors nothing classified.
    const expected = code !== EXIT.failed || 'taskResult' in e;
    io.stderr.write(`dbmaint: ${e.message}\n${expected ? '' : (e.stack ?? '') + '\n'}`);
    if (e instanceof UsageError) io.stderr.write(`(npm run dbmaint -- --help for the usage)\n`);
    return code;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  // Exit once both streams are flushed: a piped summary must not be cut short.
  void main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env }).then((code) =>
    process.stdout.write('', () => process.stderr.write('', () => process.exit(code))),
  );
}
