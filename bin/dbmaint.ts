// `npm run dbmaint -- <task-id> [options]`: the local runner's command line.
import { parseArgs } from 'node:util';
import { isRoutineId, ROUTINES, TASKS } from '../lib/catalogue';
import { ConfigError } from '../lib/config/load';
import { EventValidationError } from '../lib/events/schema';
import { renderTaskSummary } from '../lib/reporting/text-summary';
import { describeEmf, runLocal, runLocalRoutine, UsageError } from './local-runner';
import type { OutgoingMail } from '../lib/reporting/mail/sender';

function printMails(mails: readonly OutgoingMail[]): void {
  for (const m of mails) {
    process.stdout.write(`\n--- mail captured locally (set DBMAINT_SES_ENDPOINT to send it through SES) ---\nFrom: ${m.from}\nTo: ${m.to.join(', ')}\nSubject: ${m.subject}\n\n${m.text}\n`);
  }
}

const USAGE = `usage: npm run dbmaint -- <task-id> [--dry-run] [--json] [--config FILE] [--target NAME]
                              [--tables a,b|schema.t] [--force] [--max-run-seconds N] [--days-old N]
       npm run dbmaint -- <routine-id> [--dry-run] [--config FILE] [--target NAME]
       npm run dbmaint -- list

The task runs its real Lambda handler in-process. DBMAINT_DATABASE_URL=mysql://user:pass@host:port/schema
replaces the connection of the selected target (without --config, it also names the one schema to maintain).
Tasks: ${TASKS.map((t) => t.id).join(', ')}
Routines: ${ROUTINES.map((r) => r.id).join(', ')}`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'dry-run': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      config: { type: 'string' },
      target: { type: 'string' },
      tables: { type: 'string' },
      force: { type: 'boolean', default: false },
      'max-run-seconds': { type: 'string' },
      'days-old': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const task = positionals[0];
  if (values.help || !task) {
    process.stdout.write(USAGE + '\n');
    return task || values.help ? 0 : 2;
  }
  if (task === 'list') {
    for (const t of TASKS) process.stdout.write(`${t.id.padEnd(22)} ${t.title.padEnd(28)} ${t.scheduleText}\n`);
    for (const r of ROUTINES) process.stdout.write(`${r.id.padEnd(22)} ${r.title.padEnd(28)} ${r.scheduleText}: ${r.steps.map((s) => s.task).join(' → ')}\n`);
    return 0;
  }
  if (isRoutineId(task)) {
    const out = await runLocalRoutine({
      routine: task,
      ...(values.config ? { configFile: values.config } : {}),
      ...(process.env['DBMAINT_DATABASE_URL'] ? { databaseUrl: process.env['DBMAINT_DATABASE_URL'] } : {}),
      ...(values.target ? { target: values.target } : {}),
      dryRun: values['dry-run'],
    });
    if (values.json) {
      process.stdout.write(JSON.stringify({ routine: out.routine, emf: out.emf.map((l) => JSON.parse(l) as unknown) }, null, 2) + '\n');
    } else {
      for (const step of out.routine.steps) {
        process.stdout.write(`\n=== ${out.routine.routine}: ${step.task} — ${step.status} ===\n\n`);
        process.stdout.write((step.run ? renderTaskSummary(step.run) : `error: ${step.error ?? ''}`) + '\n');
      }
      printMails(out.mails);
      process.stdout.write('\nMetrics it would publish (CloudWatch EMF):\n' + describeEmf(out.emf) + '\n');
    }
    return out.routine.status === 'failed' ? 1 : 0;
  }
  const out = await runLocal({
    task: task as never,
    ...(values.config ? { configFile: values.config } : {}),
    ...(process.env['DBMAINT_DATABASE_URL'] ? { databaseUrl: process.env['DBMAINT_DATABASE_URL'] } : {}),
    ...(values.target ? { target: values.target } : {}),
    dryRun: values['dry-run'],
    ...(values.tables ? { tables: values.tables.split(',').map((s) => s.trim()).filter(Boolean) } : {}),
    force: values.force,
    ...(values['max-run-seconds'] ? { maxRunSeconds: Number(values['max-run-seconds']) } : {}),
    ...(values['days-old'] ? { daysOld: Number(values['days-old']) } : {}),
  });
  if (values.json) {
    process.stdout.write(JSON.stringify({ result: out.result, emf: out.emf.map((l) => JSON.parse(l) as unknown) }, null, 2) + '\n');
  } else {
    process.stdout.write(renderTaskSummary(out.result) + '\n');
    printMails(out.mails);
    process.stdout.write('\nMetrics it would publish (CloudWatch EMF):\n' + describeEmf(out.emf) + '\n');
  }
  return out.result.status === 'failed' ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    const known = err instanceof UsageError || err instanceof ConfigError || err instanceof EventValidationError || 'taskResult' in err;
    process.stderr.write(`dbmaint: ${err.message}\n${known ? '' : (err.stack ?? '') + '\n'}`);
    if (err instanceof UsageError) process.stderr.write(USAGE + '\n');
    process.exit(known ? 2 : 1);
  },
);
