// Secrets Manager credentials (aws-sdk-client-mock) and the reconnect-after-rotation path against real MariaDB.
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { credentialsFromUrl, parseSecretString, SecretsManagerCredentialSource } from '../lib/db/credentials';
import { openTargetSession } from '../lib/db/connection';
import { serverUrl } from './support/db';

const ARN = 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:prod-db-AbCdEf';
const sm = mockClient(SecretsManagerClient);
const settings = { lockWaitTimeoutSeconds: 3, innodbLockWaitTimeoutSeconds: 4, connectTimeoutSeconds: 5 };

beforeEach(() => sm.reset());

describe('credentials', () => {
  it('parses the RDS secret shape', () => {
    expect(parseSecretString(JSON.stringify({ engine: 'mysql', host: 'db.example', port: '3307', username: 'u', password: 'p', dbname: 'app' }), ARN)).toEqual({
      host: 'db.example',
      port: 3307,
      user: 'u',
      password: 'p',
      database: 'app',
    });
  });

  it('names missing fields of a malformed secret without echoing it', () => {
    const secret = JSON.stringify({ host: 'db', username: 'u', pwd: 'Sup3rS3cret!' });
    expect(() => parseSecretString(secret, ARN)).toThrow(/malformed: missing or invalid field\(s\) password/);
    try {
      parseSecretString(secret, ARN);
    } catch (err) {
      expect((err as Error).message).not.toContain('Sup3rS3cret!');
    }
    expect(() => parseSecretString('Sup3rS3cret!', ARN)).toThrow(/is not JSON/);
  });

  it('caches the secret across invocations and reports unreadable secrets clearly', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ host: 'h', username: 'u', password: 'p' }) });
    const src = new SecretsManagerCredentialSource(new SecretsManagerClient({ region: 'eu-central-1' }));
    await src.get(ARN);
    await src.get(ARN);
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    expect(sm.commandCalls(GetSecretValueCommand)[0]!.args[0].input).toEqual({ SecretId: ARN });

    sm.reset();
    sm.on(GetSecretValueCommand).rejects(Object.assign(new Error('User is not authorized'), { name: 'AccessDeniedException' }));
    const denied = new SecretsManagerCredentialSource(new SecretsManagerClient({ region: 'eu-central-1' }));
    await expect(denied.get(ARN)).rejects.toThrow(`cannot read secret ${ARN}: AccessDeniedException: User is not authorized`);
  });

  it('re-reads a rotated secret once when the cached password is refused', async () => {
    const real = credentialsFromUrl(serverUrl());
    const secret = (password: string) => JSON.stringify({ host: real.host, port: real.port, username: real.user, password });
    sm.on(GetSecretValueCommand).resolvesOnce({ SecretString: secret('old-password') }).resolves({ SecretString: secret(real.password) });
    const src = new SecretsManagerCredentialSource(new SecretsManagerClient({ region: 'eu-central-1' }));
    const session = await openTargetSession(src, ARN, settings, 'auto');
    const [row] = await session.query<{ lw: number; ilw: number; tz: string }>(
      'SELECT @@session.lock_wait_timeout AS lw, @@session.innodb_lock_wait_timeout AS ilw, @@session.time_zone AS tz',
    );
    expect(row).toEqual({ lw: 3, ilw: 4, tz: '+00:00' });
    expect(session.flavour.kind).toBe('mariadb');
    await session.close();
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });
});
