// The logging interface lib/ writes to: Powertools Logger in Lambda (structured JSON), a console logger locally.

export type LogFields = Record<string, unknown>;

export interface Log {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

export const silentLog: Log = { debug() {}, info() {}, warn() {}, error() {} };

/** One JSON object per line on stderr; the local runner's and tests' stand-in for Powertools Logger. */
export function jsonLineLog(write: (line: string) => void = (l) => process.stderr.write(l + '\n'), minLevel: 'debug' | 'info' = 'info'): Log {
  const emit = (level: string) => (message: string, fields?: LogFields) => {
    write(JSON.stringify({ level, timestamp: new Date().toISOString(), message, ...fields }));
  };
  return {
    debug: minLevel === 'debug' ? emit('DEBUG') : () => {},
    info: emit('INFO'),
    warn: emit('WARN'),
    error: emit('ERROR'),
  };
}
