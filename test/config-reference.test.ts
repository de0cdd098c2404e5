// docs/configuration.md is generated from the config schema (`npm run docs`); this fails when the page is stale or a
// field of the schema has no description.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as z from 'zod';
import { expect, it } from 'vitest';
import { configFields, configReferenceMarkdown, staleDescriptions } from '../bin/config-reference';
import { configSchema } from '../lib/config/schema';
import { repoRoot } from './support/synth';

it('docs/configuration.md matches the schema (run `npm run docs`)', () => {
  const page = readFileSync(path.join(repoRoot, 'docs', 'configuration.md'), 'utf8');
  expect(page).toBe(configReferenceMarkdown());
});

it('every field of the schema has a description', () => {
  const fields = configFields();
  expect(fields.filter((f) => !f.description.trim()).map((f) => f.path)).toEqual([]);
  // No description for a field the schema no longer has (a renamed field would otherwise keep a dead entry).
  expect(staleDescriptions()).toEqual([]);
  // Every property anywhere in the JSON Schema is listed (none hidden in a shape the reference does not walk).
  const keys = new Set<string>();
  const collect = (n: unknown): void => {
    if (!n || typeof n !== 'object') return;
    const props = (n as { properties?: Record<string, unknown> }).properties;
    if (props) for (const k of Object.keys(props)) keys.add(k);
    for (const v of Object.values(n)) collect(v);
  };
  collect(z.toJSONSchema(configSchema, { io: 'input' }));
  const listed = new Set(fields.map((f) => f.path.split('.').at(-1)!.replace(/\[\]$/, '')));
  expect([...keys].filter((k) => !listed.has(k))).toEqual([]);
  expect(fields.map((f) => f.path)).toEqual(expect.arrayContaining(['timeZone', 'purge.maxChunkBytes', 'targets[].cleanupRules[].where[].op', 'fleet.secretAccess.prefix', 'targets[].tasks.<id>.schedule.weekDay']));
});
