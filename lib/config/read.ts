// Reading a configuration: a JSON file or value parsed by a given schema, every problem reported with its field path.
import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { ConfigError, formatIssues } from './issues';
import type { DbMaintConfig } from './schema';

/** Parse with `schema`: the full checks of `cdk synth` and the CLI (lib/config/load.ts), or the structure alone (lib/config/bundled.ts). */
export function parseConfigWith(schema: z.ZodType<DbMaintConfig, unknown>, raw: unknown, source: string): DbMaintConfig {
  const result = schema.safeParse(raw);
  if (!result.success) {
    const issues = formatIssues(result.error, 'config');
    throw new ConfigError(`invalid configuration in ${source}:\n  ${issues.join('\n  ')}`, issues);
  }
  return result.data;
}

/** A JSON file, parsed by `parse`. */
export function readConfigFile(file: string, parse: (raw: unknown, source: string) => DbMaintConfig): DbMaintConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read configuration file ${file}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`configuration file ${file} is not valid JSON: ${(err as Error).message}`);
  }
  return parse(raw, file);
}
