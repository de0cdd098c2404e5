// Configuration and payload errors: every problem a line that starts with the path of the offending field, e.g. `targets[0].schemas[1]`.
import type { z } from 'zod';
import { InputError } from '../validation/input-error';

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
