// The shared shape of every task function: middy + Powertools Logger around one task's module (lib/tasks/run-task.ts).
import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Context } from 'aws-lambda';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { loadBundledConfig } from '../lib/config/bundled';
import type { DbMaintConfig } from '../lib/config/schema';
import { SecretsManagerCredentialSource, UrlCredentialSource, type CredentialSource } from '../lib/db/credentials';
import { EmfMetricsPublisher, type MetricsPublisher } from '../lib/metrics/emf';
import { SERVICE_NAME } from '../lib/metrics/names';
import type { MailSender } from '../lib/reporting/mail/sender';
import { Deadline } from '../lib/runtime/deadline';
import type { Log } from '../lib/runtime/log';
import { boundRunResult } from '../lib/tasks/bounded-result';
import { runTaskWith } from '../lib/tasks/run-task';
import { anyTask, type BaseEvent, type TaskModule, type TaskRunResult } from '../lib/tasks/task-module';

/** Reserved at the end of an invocation for closing the session, publishing metrics and returning. */
export const DEADLINE_SAFETY_MS = 15_000;

/** File name of the configuration the stack bundles next to each handler. */
const BUNDLED_CONFIG_FILE = 'dbmaint.config.json';

export interface HandlerDependencies {
  readonly config: DbMaintConfig;
  readonly credentials: CredentialSource;
  readonly metrics: MetricsPublisher;
  readonly log: Log;
  /** SES in Lambda; the local runner and tests pass one pointed at an SES emulator. */
  readonly mailer?: MailSender;
}

const powertoolsLogger = new Logger({ serviceName: SERVICE_NAME });

function powertoolsLog(logger: Logger): Log {
  return {
    debug: (m, f) => logger.debug(m, f ?? {}),
    info: (m, f) => logger.info(m, f ?? {}),
    warn: (m, f) => logger.warn(m, f ?? {}),
    error: (m, f) => logger.error(m, f ?? {}),
  };
}

function configPath(): string {
  if (process.env['DBMAINT_CONFIG_FILE']) return process.env['DBMAINT_CONFIG_FILE'];
  const root = process.env['LAMBDA_TASK_ROOT'] ?? process.cwd();
  return path.join(root, BUNDLED_CONFIG_FILE);
}

// Module scope on purpose: parsed config, the secrets cache and the SDK client survive warm invocations.
let production: HandlerDependencies | undefined;
let overrides: Partial<HandlerDependencies> = {};

function productionDependencies(): HandlerDependencies {
  if (!production) {
    const file = configPath();
    if (!existsSync(file)) throw new Error(`dbmaint configuration not found at ${file} (set DBMAINT_CONFIG_FILE)`);
    const config = loadBundledConfig(file);
    const url = process.env['DBMAINT_DATABASE_URL'];
    production = {
      config,
      credentials: url ? new UrlCredentialSource(url) : new SecretsManagerCredentialSource(),
      metrics: new EmfMetricsPublisher(config.metricNamespace),
      log: powertoolsLog(powertoolsLogger),
    };
  }
  return production;
}

/** For the local runner and tests: replace some dependencies; returns a function that restores them. */
export function useDependencies(deps: Partial<HandlerDependencies>): () => void {
  const previous = overrides;
  overrides = { ...overrides, ...deps };
  return () => {
    overrides = previous;
  };
}

/** The same dependencies outside Lambda (the long runner's container): configuration file, Secrets Manager, EMF to stdout. */
export function dependencies(): HandlerDependencies {
  const needsProduction = !overrides.config || !overrides.credentials || !overrides.metrics || !overrides.log;
  return { ...(needsProduction ? productionDependencies() : ({} as HandlerDependencies)), ...overrides };
}

/**
 * The handler of one task. Only the entries of tasks that send mail pass `mailer` (SES): the SDK client then ships in
 * their bundles alone. An injected mailer (local runner, tests) takes precedence.
 */
export function makeHandler<E extends BaseEvent, R>(task: TaskModule<E, R>, mailer?: () => MailSender) {
  let ownMailer: MailSender | undefined;
  const base = async (event: unknown, context: Context): Promise<TaskRunResult> => {
    const deps = dependencies();
    const deadline = Deadline.fromRemaining(context.getRemainingTimeInMillis(), DEADLINE_SAFETY_MS);
    const sender = deps.mailer ?? (mailer ? (ownMailer ??= mailer()) : undefined);
    // The response goes to Step Functions (256 KiB per state) and the console: bounded, whatever the database's size.
    return boundRunResult(await runTaskWith(anyTask(task), event, { ...deps, ...(sender ? { mailer: sender } : {}), deadline }));
  };
  return middy(base).use(injectLambdaContext(powertoolsLogger, { resetKeys: true }));
}
