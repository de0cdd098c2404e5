// The templates `dbmaint cost` prices: the stack synthesized offline with bundling skipped (the functions' code does not change what the stack costs).
import { App } from 'aws-cdk-lib';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DbMaintConfig } from '../../lib/config/schema';
import { DbMaintStack } from '../stack';
import type { Template } from './estimate';
import { PRICES } from './prices';

export function synthTemplates(config: DbMaintConfig, repoRoot: string): Template[] {
  const outdir = mkdtempSync(path.join(os.tmpdir(), 'dbmaint-cost-'));
  try {
    const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
    new DbMaintStack(app, 'DbMaint', { config, repoRoot, env: { account: '123456789012', region: PRICES.region } });
    app.synth();
    return readdirSync(outdir)
      .filter((f) => f.endsWith('.template.json'))
      .map((f) => JSON.parse(readFileSync(path.join(outdir, f), 'utf8')) as Template);
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
