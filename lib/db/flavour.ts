// Server flavour and version detection: MySQL 8, Aurora MySQL 3, MariaDB 10.6+ differ in catalogue tables and settings.

export type ServerKind = 'mysql' | 'aurora-mysql' | 'mariadb';

export interface ServerFlavour {
  readonly kind: ServerKind;
  /** e.g. "10.11.19-MariaDB-0+deb12u1" or "8.0.39" */
  readonly version: string;
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  /** Aurora's own version ("3.05.2") when the server is Aurora MySQL. */
  readonly auroraVersion?: string;
}

export function parseServerVersion(version: string, versionComment = '', auroraVersion?: string | null): ServerFlavour {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  const [major, minor, patch] = m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [0, 0, 0];
  const isMaria = /mariadb/i.test(version) || /mariadb/i.test(versionComment);
  const kind: ServerKind = isMaria ? 'mariadb' : auroraVersion ? 'aurora-mysql' : 'mysql';
  return { kind, version, major, minor, patch, ...(auroraVersion ? { auroraVersion } : {}) };
}

/** MySQL 8.0+ (including Aurora MySQL 3) caches information_schema statistics unless told otherwise. */
export function hasStatsExpiry(f: ServerFlavour): boolean {
  return f.kind !== 'mariadb' && f.major >= 8;
}

/**
 * ANALYZE TABLE ends by flushing the table from the table cache: a statement still reading it makes every later statement
 * on the table wait ("Waiting for table flush") until it finishes. MySQL 8.0.24 stopped that for InnoDB (Aurora MySQL
 * 3.01–3.02 report 8.0.23); MariaDB from 10.5 (Percona Server fixed it earlier in its own builds).
 */
export function analyzeFlushesTable(f: ServerFlavour): boolean {
  if (f.kind === 'mariadb') return f.major === 10 && f.minor < 5;
  return f.major < 8 || (f.major === 8 && f.minor === 0 && f.patch < 24);
}

export function isSupported(f: ServerFlavour): boolean {
  if (f.kind === 'mariadb') return f.major > 10 || (f.major === 10 && f.minor >= 6);
  return f.major >= 8;
}

export function describeFlavour(f: ServerFlavour): string {
  const name = f.kind === 'mariadb' ? 'MariaDB' : f.kind === 'aurora-mysql' ? `Aurora MySQL ${f.auroraVersion}` : 'MySQL';
  return `${name} ${f.major}.${f.minor}.${f.patch}`;
}
