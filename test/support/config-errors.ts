// What parseConfig refuses: the error's message, or its list of issues (fails the test when the config is accepted).
import { expect } from 'vitest';
import { ConfigError, parseConfig } from '../../lib/config/load';

function refusalOf(input: unknown): ConfigError {
  try {
    parseConfig(input);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('config was accepted');
}

export function configErrorOf(input: unknown): string {
  return refusalOf(input).message;
}

export function configIssuesOf(input: unknown): readonly string[] {
  return refusalOf(input).issues;
}
