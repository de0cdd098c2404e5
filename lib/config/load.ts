// Loading and validating configuration with every check `cdk synth` makes: each error names the field path, e.g. `targets[0].schemas[1]`.
import { checkedConfigSchema } from './checks';
import { parseConfigWith, readConfigFile } from './read';
import type { DbMaintConfig } from './schema';

export { ConfigError } from './issues';

/** Every check: structure, contradictions, schedules, windows, fleet limits (what `cdk synth` refuses). */
export function parseConfig(raw: unknown, source = 'config'): DbMaintConfig {
  return parseConfigWith(checkedConfigSchema, raw, source);
}

export function loadConfigFile(file: string): DbMaintConfig {
  return readConfigFile(file, parseConfig);
}
