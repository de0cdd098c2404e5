// The README's task table is generated from the catalogue; this fails when someone forgets `npm run docs`.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { withTaskTable } from '../bin/gen-docs';
import { TASKS } from '../lib/catalogue';
import { repoRoot } from './support/synth';

it('README task table matches the catalogue', () => {
  const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  expect(readme).toBe(withTaskTable(readme));
  for (const t of TASKS) expect(readme).toContain(`| \`${t.id}\` |`);
});
