// Synthesizing the stack in tests (bundling skipped unless asked: it is exercised once, by the bundle test).
import { App } from 'aws-cdk-lib';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TaskDefinition } from '../../lib/catalogue';
import { parseConfig } from '../../lib/config/load';
import { addNagSuppressions, applyNag } from '../../infra/nag';
import { DbMaintStack } from '../../infra/stack';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export function synthStack(input: unknown, opts: { tasks?: readonly TaskDefinition[]; nag?: boolean; targetsPerNestedStack?: number } = {}): DbMaintStack {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new DbMaintStack(app, 'Test', {
    config: parseConfig(input),
    repoRoot,
    env: { account: '123456789012', region: 'eu-central-1' },
    ...(opts.tasks ? { tasks: opts.tasks } : {}),
    ...(opts.targetsPerNestedStack ? { targetsPerNestedStack: opts.targetsPerNestedStack } : {}),
  });
  if (opts.nag) {
    addNagSuppressions(stack);
    applyNag(app);
  }
  app.synth();
  return stack;
}

export function target(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name, secretArn: `arn:aws:secretsmanager:eu-central-1:123456789012:secret:${name}-db-AbCdEf`, schemas: ['app'], ...extra };
}
