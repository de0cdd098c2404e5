// A Log for tests that keeps every line it is given, to check what the code reported about itself.
import type { Log, LogFields } from '../../lib/runtime/log';

export interface LoggedLine {
  readonly level: string;
  readonly message: string;
  readonly fields?: LogFields;
}

export function recordingLog(): Log & { lines: LoggedLine[] } {
  const lines: LoggedLine[] = [];
  const at = (level: string) => (message: string, fields?: LogFields) => void lines.push({ level, message, ...(fields ? { fields } : {}) });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
