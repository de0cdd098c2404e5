// Loading and validating configuration: every error names the field path, e.g. `targets[0].schemas[1]`.
import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { InputError } from '../validation/input-error';
import { configSchema, type DbMaintConfig } from './schema';

export class ConfigError extends InputError {
  override readonly name = 'ConfigError';
}

/** `targets[0].cleanupRules[2].op` from a zod path. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

/** One line per problem, each starting with the path of the offending field. */
export function formatIssues(error: z.ZodError, root: string): string[] {
  return error.issues.map((issue) => {
    const path = formatPath(issue.path);
    const where = path === '' ? root : `${root}.${path}`;
    if (issue.code === 'unrecognized_keys') {
      return `${where}: unknown field(s) ${issue.keys.map((k) => `'${k.slice(0, 64)}'`).join(', ')}`;
    }
    return `${where}: ${issue.message}`;
  });
}

export function parseConfig(raw: unknown, source = 'config'): DbMaintConfig {
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const issues = formatIssues(result.error, 'config');
    throw new ConfigError(`invalid configuration in ${source}:\n  ${issues.join('\n  ')}`, issues);
  }
  return result.data;
}

export function loadConfigFile(file: string): DbMaintConfig {
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
  return parseConfig(raw, file);
}
