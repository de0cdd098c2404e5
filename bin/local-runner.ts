// Runs a catalogue task's real Lambda handler in-process, against DBMAINT_DATABASE_URL or the configured secrets.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { getTask, isTaskId, TASK_IDS, type TaskId } from '../lib/catalogue';
import { loadConfigFile, parseConfig } from '../lib/config/load';
import type { DbMaintConfig } from '../lib/config/schema';
import { credentialsFromUrl, SecretsManagerCredentialSource, UrlCredentialSource } from '../lib/db/credentials';
import { EmfMetricsPublisher } from '../lib/metrics/emf';
import { lambdaContext } from '../lib/local/lambda-context';
import { jsonLineLog, type Log } from '../lib/runtime/log';
import type { TaskRunResult } from '../lib/tasks/run-task';
import { useDependencies } from '../functions/lambda-handler';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface LocalRunOptions {
  readonly task: TaskId;
  readonly configFile?: string;
  readonly databaseUrl?: string;
  readonly target?: string;
  readonly dryRun?: boolean;
  readonly tables?: readonly string[];
  readonly force?: boolean;
  readonly maxRunSeconds?: number;
  readonly daysOld?: number;
  readonly log?: Log;
}

export interface LocalRunOutput {
  readonly result: TaskRunResult;
  /** EMF documents the Lambda would have written to CloudWatch Logs. */
  readonly emf: readonly string[];
  readonly config: DbMaintConfig;
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Without a config file, a one-target config is derived from the URL (its path names the schema). */
export function configFromUrl(url: string): DbMaintConfig {
  const creds = credentialsFromUrl(url);
  if (!creds.database) throw new UsageError('DBMAINT_DATABASE_URL must name a schema (mysql://user:pass@host:port/SCHEMA) when no --config is given');
  return parseConfig(
    {
      targets: [{ name: 'local', secretArn: 'arn:aws:secretsmanager:local:000000000000:secret:local-url-000000', schemas: [creds.database], tls: 'auto' }],
    },
    'DBMAINT_DATABASE_URL',
  );
}

export async function runLocal(opts: LocalRunOptions): Promise<LocalRunOutput> {
  if (!isTaskId(opts.task)) throw new UsageError(`unknown task '${opts.task}': one of ${TASK_IDS.join(', ')}`);
  const task = getTask(opts.task);
  let config: DbMaintConfig;
  if (opts.configFile) config = loadConfigFile(opts.configFile);
  else if (opts.databaseUrl) config = configFromUrl(opts.databaseUrl);
  else throw new UsageError('give --config FILE, or DBMAINT_DATABASE_URL=mysql://user:pass@host:port/schema');

  const emf: string[] = [];
  const restore = useDependencies({
    config,
    // The URL replaces the connection of whichever target is selected; without it the secrets are read for real.
    credentials: opts.databaseUrl ? new UrlCredentialSource(opts.databaseUrl) : new SecretsManagerCredentialSource(),
    metrics: new EmfMetricsPublisher(config.metricNamespace, (line) => emf.push(line)),
    log: opts.log ?? jsonLineLog(),
  });
  try {
    const mod = (await import(path.join(repoRoot, task.handlerFile))) as {
      handler: (event: unknown, context: ReturnType<typeof lambdaContext>) => Promise<TaskRunResult>;
    };
    const event = {
      ...(opts.target ? { target: opts.target } : {}),
      ...(opts.dryRun ? { dryRun: true } : {}),
      ...(opts.tables ? { tables: [...opts.tables] } : {}),
      ...(opts.force ? { force: true } : {}),
      ...(opts.maxRunSeconds ? { maxRunSeconds: opts.maxRunSeconds } : {}),
      ...(opts.daysOld ? { daysOld: opts.daysOld } : {}),
    };
    const result = await mod.handler(event, lambdaContext(`dbmaint-${task.id}`, task.timeoutSeconds * 1000));
    return { result, emf, config };
  } finally {
    restore();
  }
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
