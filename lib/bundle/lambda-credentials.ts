// Stands in for @aws-sdk/credential-provider-node in the Lambda bundles: Lambda hands a function its role's credentials in the
// environment, which the SDK's default chain reads first anyway; the rest of the chain (profiles, SSO, STS) is ~80 KB per bundle.

interface LambdaCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  readonly expiration?: Date;
  readonly accountId?: string;
}

/** The `defaultProvider` the SDK clients' runtime config calls: credentials from the environment, as `fromEnv` reads them. */
export function defaultProvider(): () => Promise<LambdaCredentials> {
  return async () => {
    const env = process.env;
    const accessKeyId = env['AWS_ACCESS_KEY_ID'];
    const secretAccessKey = env['AWS_SECRET_ACCESS_KEY'];
    if (!accessKeyId || !secretAccessKey) {
      throw new Error(
        "dbmaint's Lambda bundle takes AWS credentials from the Lambda environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, " +
          'AWS_SESSION_TOKEN) and none are set: run the bundle in Lambda, or the task locally with `npm run dbmaint` (the full SDK chain).',
      );
    }
    const expiry = env['AWS_CREDENTIAL_EXPIRATION'];
    return {
      accessKeyId,
      secretAccessKey,
      ...(env['AWS_SESSION_TOKEN'] ? { sessionToken: env['AWS_SESSION_TOKEN'] } : {}),
      ...(expiry ? { expiration: new Date(expiry) } : {}),
      ...(env['AWS_ACCOUNT_ID'] ? { accountId: env['AWS_ACCOUNT_ID'] } : {}),
    };
  };
}
