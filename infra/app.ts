// CDK app entry: `npx cdk synth -c config=FILE` (default config/example.json). An invalid config fails synth, naming the field.
import { App } from 'aws-cdk-lib';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfigFile } from '../lib/config/load';
import { assertSchedulesRun } from '../lib/config/schedule-check';
import { addNagSuppressions, applyNag } from './nag';
import { DbMaintStack } from './stack';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const app = new App();
const configArg = String(app.node.tryGetContext('config') ?? 'config/example.json');
const configFile = path.resolve(process.cwd(), configArg);

let config;
try {
  config = loadConfigFile(configFile);
  assertSchedulesRun(config, configFile);
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`dbmaint: ${err.message}\n`);
    process.exit(1);
  }
  throw err;
}

const stackName = String(app.node.tryGetContext('stackName') ?? 'DbMaint');
const stack = new DbMaintStack(app, stackName, {
  config,
  repoRoot,
  description: 'dbmaint: scheduled MySQL/MariaDB maintenance tasks',
  // Region and account stay unresolved unless the deployer's environment gives them: synth works offline.
  env: { account: process.env['CDK_DEFAULT_ACCOUNT'], region: process.env['CDK_DEFAULT_REGION'] },
});
addNagSuppressions(stack);
applyNag(app);
app.synth();
