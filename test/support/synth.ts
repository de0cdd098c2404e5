// Synthesizing the stack in tests (bundling skipped unless asked: it is exercised once, by the bundle test).
import { App } from 'aws-cdk-lib';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TaskDefinition } from '../../lib/catalogue';
import { parseConfig } from '../../lib/config/load';
import { addNagSuppressions, applyNag } from '../../infra/nag';
import { DbMaintStack } from '../../infra/stack';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface SynthOptions {
  tasks?: readonly TaskDefinition[];
  nag?: boolean;
  targetsPerNestedStack?: number;
  /** Cloud assembly directory (templates as CloudFormation receives them); default: a temporary one. */
  outdir?: string;
}

export function synthStack(input: unknown, opts: SynthOptions = {}): DbMaintStack {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] }, ...(opts.outdir ? { outdir: opts.outdir } : {}) });
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

/** The template files of a synthesized assembly: the stack's and each nested stack's, as uploaded. */
export function templateFiles(outdir: string): string[] {
  return readdirSync(outdir)
    .filter((f) => f.endsWith('.template.json'))
    .sort()
    .map((f) => path.join(outdir, f));
}

export function target(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name, secretArn: `arn:aws:secretsmanager:eu-central-1:123456789012:secret:${name}-db-AbCdEf`, schemas: ['app'], ...extra };
}
