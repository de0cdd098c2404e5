// Stands in for iconv-lite in the Lambda bundles: Node's own encodings and CESU-8 (MySQL's utf8mb3), exactly; any other charset is refused.
// mysql2 calls iconv-lite only for encodings Buffer lacks; iconv's code-page tables are ~480 KB of every bundle (docs/bundles.md).

/** Why a decode or encode was refused: the text would come out wrong without iconv-lite's tables. */
export class UnsupportedEncodingError extends Error {
  override readonly name = 'UnsupportedEncodingError';
  constructor(encoding: string, direction: 'decode' | 'encode') {
    super(
      `dbmaint's Lambda bundle cannot ${direction} text in '${encoding}': it carries only the encodings Node.js has built in ` +
        `(utf8, latin1, ascii, utf16le) and cesu8 (utf8mb3). Sessions ask for utf8mb4 results (charset utf8mb4); a server that sends '${encoding}' ` +
        `anyway has character_set_results forced (init_connect or a proxy): let the session's SET NAMES utf8mb4 stand.`,
    );
  }
}

interface Codec<I, O> {
  write(input: I): O;
  end(): O | undefined;
}

function native(encoding: string): BufferEncoding | undefined {
  return Buffer.isEncoding(encoding) ? (encoding as BufferEncoding) : undefined;
}

const isCesu8 = (encoding: string) => encoding.toLowerCase().replace(/[^a-z0-9]/g, '') === 'cesu8';

/**
 * CESU-8 is UTF-8 whose characters beyond the BMP are two 3-byte surrogates; mysql2 reads MySQL's utf8mb3 as CESU-8. Without
 * surrogate bytes (ED A0-BF) it is plain UTF-8; with them, each 1-3 byte sequence is one UTF-16 code unit (as iconv-lite does).
 */
export function decodeCesu8(b: Buffer): string {
  let surrogates = false;
  for (let i = 0; i + 1 < b.length; i++) {
    if (b[i] === 0xed && b[i + 1]! >= 0xa0) {
      surrogates = true;
      break;
    }
  }
  if (!surrogates) return b.toString('utf8');
  const units: number[] = [];
  for (let i = 0; i < b.length; ) {
    const c = b[i]!;
    if (c < 0x80) {
      units.push(c);
      i += 1;
    } else if (c >= 0xc0 && c < 0xe0 && i + 1 < b.length) {
      units.push(((c & 0x1f) << 6) | (b[i + 1]! & 0x3f));
      i += 2;
    } else if (c >= 0xe0 && c < 0xf0 && i + 2 < b.length) {
      units.push(((c & 0x0f) << 12) | ((b[i + 1]! & 0x3f) << 6) | (b[i + 2]! & 0x3f));
      i += 3;
    } else {
      units.push(0xfffd);
      i += 1;
    }
  }
  let out = '';
  for (let i = 0; i < units.length; i += 8192) out += String.fromCharCode(...units.slice(i, i + 8192));
  return out;
}

/** Each UTF-16 code unit as its own 1-3 byte sequence: CESU-8 by definition. */
export function encodeCesu8(text: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const u = text.charCodeAt(i);
    if (u < 0x80) bytes.push(u);
    else if (u < 0x800) bytes.push(0xc0 | (u >> 6), 0x80 | (u & 0x3f));
    else bytes.push(0xe0 | (u >> 12), 0x80 | ((u >> 6) & 0x3f), 0x80 | (u & 0x3f));
  }
  return Buffer.from(bytes);
}

export function getDecoder(encoding: string): Codec<Buffer, string> {
  if (isCesu8(encoding)) return { write: decodeCesu8, end: () => undefined };
  const enc = native(encoding);
  if (!enc) throw new UnsupportedEncodingError(encoding, 'decode');
  return { write: (b) => b.toString(enc), end: () => undefined };
}

function getEncoder(encoding: string): Codec<string, Buffer> {
  if (isCesu8(encoding)) return { write: encodeCesu8, end: () => undefined };
  const enc = native(encoding);
  if (!enc) throw new UnsupportedEncodingError(encoding, 'encode');
  return { write: (s) => Buffer.from(s, enc), end: () => undefined };
}

export function encodingExists(encoding: string): boolean {
  return isCesu8(encoding) || native(encoding) !== undefined;
}

export function decode(buffer: Buffer, encoding: string): string {
  return getDecoder(encoding).write(buffer);
}

export function encode(text: string, encoding: string): Buffer {
  return getEncoder(encoding).write(text);
}
