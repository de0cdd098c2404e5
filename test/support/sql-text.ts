// A small MySQL/MariaDB lexer for statement texts a DBA copies: what lies outside quotes and comments.

export interface SqlTextShape {
  /** `-- ` and `#` comments (to the end of the line): an appended `;` would land inside one. */
  readonly lineComments: readonly string[];
  /** Offsets of `;` outside quotes and comments. */
  readonly semicolons: readonly number[];
  /** `/*!…` and `/*+…` comments: executed or read by the server, not notes. */
  readonly executableComments: readonly string[];
  /** A quote or block comment still open at the end. */
  readonly unterminated: string | null;
}

export function sqlTextShape(sql: string): SqlTextShape {
  const lineComments: string[] = [];
  const semicolons: number[] = [];
  const executableComments: string[] = [];
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    const next = sql[i + 1] ?? '';
    if (c === "'" || c === '"' || c === '`') {
      // Quotes end at the next unescaped, undoubled quote of the same kind (backslash escapes only in strings).
      let j = i + 1;
      for (;;) {
        if (j >= sql.length) return { lineComments, semicolons, executableComments, unterminated: sql.slice(i) };
        if (sql[j] === '\\' && c !== '`') j += 2;
        else if (sql[j] === c && sql[j + 1] === c) j += 2;
        else if (sql[j] === c) break;
        else j++;
      }
      i = j + 1;
    } else if (c === '/' && next === '*') {
      const end = sql.indexOf('*/', i + 2);
      if (end === -1) return { lineComments, semicolons, executableComments, unterminated: sql.slice(i) };
      const body = sql.slice(i, end + 2);
      if (body.startsWith('/*!') || body.startsWith('/*+')) executableComments.push(body);
      i = end + 2;
    } else if (c === '#' || (c === '-' && next === '-' && (i + 2 >= sql.length || /[\s\p{Cc}]/u.test(sql[i + 2]!)))) {
      const end = sql.indexOf('\n', i);
      lineComments.push(sql.slice(i, end === -1 ? undefined : end));
      i = end === -1 ? sql.length : end + 1;
    } else {
      if (c === ';') semicolons.push(i);
      i++;
    }
  }
  return { lineComments, semicolons, executableComments, unterminated: null };
}
