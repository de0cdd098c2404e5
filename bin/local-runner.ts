// Runs a catalogue task's real Lambda handler in-process, against DBMAINT_DATABASE_URL or the configured secrets.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { getRoutine, getTask, isRoutineId, isTaskId, ROUTINE_IDS, TASK_IDS, type TaskId } from '../lib/catalogue';
import { SESClient } from '@aws-sdk/client-ses';
import { LocalMailbox } from '../lib/reporting/mail/local-mailbox';
import { SesMailSender, type MailSender } from '../lib/reporting/mail/sender';
import { runRoutine, type RoutineResult } from '../lib/routines/run-routine';
import { loadConfigFile, parseConfig } from '../lib/config/load';
import type { DbMaintConfig } from '../lib/config/schema';
import { credentialsFromUrl, SecretsManagerCredentialSource, UrlCredentialSource } from '../lib/db/credentials';
import { EmfMetricsPublisher } from '../lib/metrics/emf';
import { lambdaContext } from '../dev/lambda-context';
import { jsonLineLog, type Log } from '../lib/runtime/log';
import type { TaskRunResult } from '../lib/tasks/task-module';
import { useDependencies } from '../functions/lambda-handler';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** What a local task or routine run needs besides its name: configuration, database, target, mail. */
interface LocalEnvironmentOptions {
  /** An already parsed configuration (tests); else configFile or the URL. */
  readonly config?: DbMaintConfig;
  readonly configFile?: string;
  readonly databaseUrl?: string;
  readonly target?: string;
  readonly dryRun?: boolean;
  readonly log?: Log;
  /** Where report mail goes: default an SES endpoint from DBMAINT_SES_ENDPOINT, else a local mailbox. */
  readonly mailer?: MailSender;
}

/** What a local run leaves behind besides its result. */
interface LocalArtifacts {
  /** EMF documents the Lambda would have written to CloudWatch Logs. */
  readonly emf: readonly string[];
  readonly config: DbMaintConfig;
  /** Mail the run produced, when it went to a local mailbox. */
  readonly mails: LocalMailbox['mails'];
}

export interface LocalRunOptions extends LocalEnvironmentOptions {
  readonly task: TaskId;
  readonly tables?: readonly string[];
  readonly force?: boolean;
  readonly maxRunSeconds?: number;
  readonly daysOld?: number;
}

export interface LocalRunOutput extends LocalArtifacts {
  readonly result: TaskRunResult;
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The URL is operator input: a malformed one is a usage error (exit 2), not an unreachable database. */
function urlCredentials(url: string): ReturnType<typeof credentialsFromUrl> {
  try {
    return credentialsFromUrl(url);
  } catch (err) {
    throw new UsageError(`DBMAINT_DATABASE_URL: ${(err as Error).message}`);
  }
}

/** Without a config file, a one-target config is derived from the URL (its path names the schema). */
function configFromUrl(url: string): DbMaintConfig {
  const creds = urlCredentials(url);
  if (!creds.database) throw new UsageError('DBMAINT_DATABASE_URL must name a schema (mysql://user:pass@host:port/SCHEMA) when no --config is given');
  return parseConfig(
    {
      targets: [{ name: 'local', secretArn: 'arn:aws:secretsmanager:local:000000000000:secret:local-url-000000', schemas: [creds.database], tls: 'auto' }],
    },
    'DBMAINT_DATABASE_URL',
  );
}

/** The configuration a local run uses: given, from --config, or derived from the URL. */
export function loadConfig(opts: { config?: DbMaintConfig; configFile?: string; databaseUrl?: string }): DbMaintConfig {
  if (opts.config) return opts.config;
  if (opts.configFile) return loadConfigFile(opts.configFile);
  if (opts.databaseUrl) return configFromUrl(opts.databaseUrl);
  throw new UsageError('give --config FILE, or DBMAINT_DATABASE_URL=mysql://user:pass@host:port/schema');
}

function defaultMailer(): MailSender {
  const endpoint = process.env['DBMAINT_SES_ENDPOINT'];
  if (!endpoint) return new LocalMailbox();
  // An SES emulator (or a real endpoint): region and credentials from the environment when set.
  return new SesMailSender(
    new SESClient({
      endpoint,
      region: process.env['AWS_REGION'] ?? 'us-east-1',
      ...(process.env['AWS_ACCESS_KEY_ID'] ? {} : { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
    }),
  );
}

/** Install the local dependencies (config, credentials, metrics to a list, mail) around `fn`. */
async function withLocalDependencies<T>(opts: LocalRunOptions | LocalRoutineOptions, fn: (config: DbMaintConfig, emf: string[], mailer: MailSender) => Promise<T>): Promise<T> {
  const config = loadConfig(opts);
  if (opts.databaseUrl) urlCredentials(opts.databaseUrl);
  const emf: string[] = [];
  const mailer = opts.mailer ?? defaultMailer();
  const restore = useDependencies({
    config,
    // The URL replaces the connection of whichever target is selected; without it the secrets are read for real.
    credentials: opts.databaseUrl ? new UrlCredentialSource(opts.databaseUrl) : new SecretsManagerCredentialSource(),
    metrics: new EmfMetricsPublisher(config.metricNamespace, (line) => emf.push(line)),
    log: opts.log ?? jsonLineLog(),
    mailer,
  });
  try {
    return await fn(config, emf, mailer);
  } finally {
    restore();
  }
}

type Handler = (event: unknown, context: ReturnType<typeof lambdaContext>) => Promise<TaskRunResult>;

async function handlerOf(taskId: TaskId): Promise<Handler> {
  return ((await import(path.join(repoRoot, getTask(taskId).handlerFile))) as { handler: Handler }).handler;
}

export async function runLocal(opts: LocalRunOptions): Promise<LocalRunOutput> {
  if (!isTaskId(opts.task)) throw new UsageError(`unknown task '${opts.task}': one of ${TASK_IDS.join(', ')}`);
  const task = getTask(opts.task);
  return withLocalDependencies(opts, async (config, emf, mailer) => {
    const handler = await handlerOf(opts.task);
    const event = {
      ...(opts.target ? { target: opts.target } : {}),
      ...(opts.dryRun ? { dryRun: true } : {}),
      ...(opts.tables ? { tables: [...opts.tables] } : {}),
      ...(opts.force ? { force: true } : {}),
      ...(opts.maxRunSeconds ? { maxRunSeconds: opts.maxRunSeconds } : {}),
      ...(opts.daysOld ? { daysOld: opts.daysOld } : {}),
    };
    const result = await handler(event, lambdaContext(`dbmaint-${task.id}`, task.timeoutSeconds * 1000));
    return { result, emf, config, mails: mailer instanceof LocalMailbox ? mailer.mails : [] };
  });
}

export interface LocalRoutineOptions extends LocalEnvironmentOptions {
  readonly routine: string;
}

export interface LocalRoutineOutput extends LocalArtifacts {
  readonly routine: RoutineResult;
  /** What each step that threw threw, in step order (the routine keeps only the message): the CLI's exit status reads them. */
  readonly stepErrors: readonly unknown[];
}

/** A routine in-process: each step's real handler with its own Lambda-shaped context, as Step Functions would call it. */
export async function runLocalRoutine(opts: LocalRoutineOptions): Promise<LocalRoutineOutput> {
  if (!isRoutineId(opts.routine)) throw new UsageError(`unknown routine '${opts.routine}': one of ${ROUTINE_IDS.join(', ')}`);
  const routine = getRoutine(opts.routine);
  return withLocalDependencies(opts, async (config, emf, mailer) => {
    const target = opts.target ?? (config.targets.length === 1 ? config.targets[0]!.name : undefined);
    if (!target) throw new UsageError(`--target is required: several targets are configured (${config.targets.map((t) => t.name).join(', ')})`);
    const stepErrors: unknown[] = [];
    const result = await runRoutine(
      routine,
      target,
      async (task, event) => {
        try {
          return await (await handlerOf(task))(event, lambdaContext(`dbmaint-${task}`, getTask(task).timeoutSeconds * 1000));
        } catch (err) {
          stepErrors.push(err);
          throw err;
        }
      },
      opts.log ?? jsonLineLog(),
      { ...(opts.dryRun ? { dryRun: true } : {}) },
    );
    return { routine: result, stepErrors, emf, config, mails: mailer instanceof LocalMailbox ? mailer.mails : [] };
  });
}

/** "Name=value unit" lines for each metric of each EMF document, with its dimension sets. */
export function describeEmf(lines: readonly string[]): string {
  const out: string[] = [];
  for (const line of lines) {
    const doc = JSON.parse(line) as Record<string, unknown> & {
      _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] };
    };
    for (const directive of doc._aws.CloudWatchMetrics) {
      const dims = directive.Dimensions.map((set) => `{${set.map((d) => `${d}=${String(doc[d])}`).join(', ')}}`).join(' and ');
      out.push(`namespace ${directive.Namespace}, dimensions ${dims}`);
      for (const m of directive.Metrics) out.push(`  ${m.Name} = ${String(doc[m.Name])} ${m.Unit}`);
    }
  }
  return out.join('\n');
}
