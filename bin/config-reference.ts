// docs/configuration.md, generated from the zod schema (lib/config/schema.ts, lib/config/fleet.ts) by `npm run docs`;
// test/config-reference.test.ts fails when the page is stale or a field has no description
// (descriptions: bin/config-field-descriptions.json, by field path).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as z from 'zod';
import { configSchema } from '../lib/config/schema';

/** The parts of a JSON Schema node (draft 2020-12, as z.toJSONSchema writes it) the reference reads. */
interface Node {
  type?: string;
  description?: string;
  default?: unknown;
  const?: unknown;
  enum?: unknown[];
  properties?: Record<string, Node>;
  required?: string[];
  additionalProperties?: Node | boolean;
  propertyNames?: Node;
  items?: Node;
  anyOf?: Node[];
  oneOf?: Node[];
  allOf?: Node[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
  format?: string;
}

/** One field of the configuration: a row of docs/configuration.md. */
export interface ConfigField {
  readonly path: string;
  readonly type: string;
  readonly default: string;
  readonly constraints: string;
  readonly description: string;
  /** Depth below the top level (0: a top-level field). */
  readonly depth: number;
  /** The field holds an object (or a list of objects) whose fields are listed after it. */
  readonly hasFields: boolean;
}

const code = (s: string) => '`' + s + '`';
const json = (v: unknown) => code(JSON.stringify(v));

function variants(n: Node): Node[] | undefined {
  return n.oneOf ?? n.anyOf;
}

/** Union members, nested unions flattened. */
function flat(v: Node[]): Node[] {
  return v.flatMap((x) => (variants(x) && !x.type ? flat(variants(x)!) : [x]));
}

function isRecord(n: Node): boolean {
  return n.type === 'object' && !n.properties && typeof n.additionalProperties === 'object';
}

/** Objects whose fields are listed: plain objects, lists of them, records of them, unions of objects. */
function fieldsOf(n: Node): Node | undefined {
  if (n.properties) return n;
  if (n.type === 'array' && n.items && fieldsOf(n.items)) return n.items;
  if (isRecord(n) && fieldsOf(n.additionalProperties as Node)) return n;
  const v = variants(n);
  if (v?.every((x) => x.properties)) return n;
  return undefined;
}

function typeOf(n: Node): string {
  if (n.const !== undefined) return JSON.stringify(n.const);
  if (n.enum) return n.enum.map((e) => JSON.stringify(e)).join(' | ');
  const v = variants(n);
  if (v) {
    if (v.every((x) => x.properties)) return 'object';
    return [...new Set(v.map(typeOf))].join(' | ');
  }
  if (n.type === 'array') return `${n.items ? typeOf(n.items) : 'unknown'}[]`.replace(/^(.* \| .*)\[\]$/, '($1)[]');
  if (isRecord(n)) return `{ [${n.propertyNames?.enum ? 'id' : 'key'}]: ${typeOf(n.additionalProperties as Node)} }`;
  if (n.type === 'integer') return 'integer';
  return n.type ?? 'unknown';
}

function range(lo: string | undefined, hi: string | undefined, unit = ''): string | undefined {
  if (lo !== undefined && hi !== undefined) return `${lo}–${hi}${unit}`;
  if (lo !== undefined) return `≥ ${lo}${unit}`;
  if (hi !== undefined) return `≤ ${hi}${unit}`;
  return undefined;
}

function constraintsOf(n: Node): string[] {
  const out: string[] = [];
  const v = variants(n);
  if (v && !v.every((x) => x.properties)) {
    for (const x of flat(v)) {
      const c = constraintsOf(x);
      if (c.length) out.push(`${x.type === 'array' ? 'a list' : isRecord(x) ? 'per id' : typeOf(x)}: ${c.join(', ')}`);
    }
    return out;
  }
  // z.int() bounds itself to the safe integers: no constraint worth listing.
  const num = (x: number | undefined) => (x === undefined || Math.abs(x) === Number.MAX_SAFE_INTEGER ? undefined : String(x));
  if (n.exclusiveMinimum !== undefined) out.push(`> ${n.exclusiveMinimum}`);
  if (n.exclusiveMaximum !== undefined) out.push(`< ${n.exclusiveMaximum}`);
  const r = range(num(n.minimum), num(n.maximum));
  if (r) out.push(r);
  const len = range(num(n.minLength), num(n.maxLength), ' characters');
  if (len) out.push(len);
  const items = range(num(n.minItems), num(n.maxItems), ' items');
  if (items) out.push(items);
  if (n.format) out.push(n.format);
  else if (n.pattern) out.push(`pattern ${code(n.pattern)}`);
  for (const a of n.allOf ?? []) if (a.pattern) out.push(`pattern ${code(a.pattern)}`);
  if (n.propertyNames?.enum) out.push(`ids: ${n.propertyNames.enum.join(', ')}`);
  const each = n.type === 'array' ? n.items : isRecord(n) ? (n.additionalProperties as Node) : undefined;
  if (each && !fieldsOf(each)) {
    const c = constraintsOf(each);
    if (c.length) out.push(`each: ${c.join(', ')}`);
  }
  return out;
}

function defaultOf(n: Node, required: boolean): string {
  if (n.default !== undefined) {
    if (n.properties && typeof n.default === 'object' && n.default !== null) return 'its fields\' defaults';
    return json(n.default);
  }
  return required ? 'required' : 'none';
}

function walk(n: Node, path: string, required: boolean, depth: number, out: ConfigField[]): void {
  const sub = fieldsOf(n);
  out.push({
    path,
    type: typeOf(n),
    default: defaultOf(n, required),
    constraints: constraintsOf(n).join('; '),
    description: n.description ?? '',
    depth,
    hasFields: sub !== undefined,
  });
  if (sub) children(sub, `${path}${n.type === 'array' ? '[]' : ''}`, depth + 1, out);
}

function children(n: Node, prefix: string, depth: number, out: ConfigField[]): void {
  const join = (key: string) => (prefix ? `${prefix}.${key}` : key);
  if (isRecord(n)) {
    children(n.additionalProperties as Node, join('<id>'), depth, out);
    return;
  }
  const v = variants(n);
  if (v) {
    unionChildren(v, join, depth, out);
    return;
  }
  for (const [key, child] of Object.entries(n.properties ?? {})) walk(child, join(key), n.required?.includes(key) ?? false, depth, out);
}

/**
 * A union of objects (fleet.secretAccess): one row per field over all variants. The field every variant fixes to a
 * constant is the discriminator; its row describes each variant, the other rows name the variants they belong to.
 */
function unionChildren(variants: Node[], join: (key: string) => string, depth: number, out: ConfigField[]): void {
  const keys = [...new Set(variants.flatMap((x) => Object.keys(x.properties ?? {})))];
  const discriminator = keys.find((k) => variants.every((x) => x.properties?.[k]?.const !== undefined));
  for (const key of keys) {
    const holders = variants.filter((x) => x.properties?.[key]);
    if (key === discriminator) {
      out.push({
        path: join(key),
        type: holders.map((x) => JSON.stringify(x.properties![key]!.const)).join(' | '),
        default: 'required',
        constraints: '',
        description: holders.map((x) => `${code(String(x.properties![key]!.const))}: ${x.description ?? ''}`).join(' '),
        depth,
        hasFields: false,
      });
      continue;
    }
    const first = holders[0]!.properties![key]!;
    const only = discriminator ? `only with ${discriminator} ${holders.map((x) => code(String(x.properties![discriminator]!.const))).join(' or ')}` : '';
    const field: ConfigField[] = [];
    walk(first, join(key), holders.every((x) => x.required?.includes(key)), depth, field);
    out.push({ ...field[0]!, constraints: [only, field[0]!.constraints].filter(Boolean).join('; ') }, ...field.slice(1));
  }
}

/** Every field of the configuration, in schema order, with its type, default, constraints and description. */
export function configFields(): ConfigField[] {
  const root = z.toJSONSchema(configSchema, { io: 'input' }) as Node;
  const out: ConfigField[] = [];
  children(root, '', 0, out);
  // Descriptions live beside this generator, not in the schema: the schema is in every Lambda bundle, and 14 KB of
  // prose pushed the largest over its 1 MB limit. A field missing from the file keeps the schema's own (none).
  return out.map((f) => ({ ...f, description: FIELD_DESCRIPTIONS[f.path] ?? f.description }));
}

const FIELD_DESCRIPTIONS = JSON.parse(readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), 'config-field-descriptions.json'), 'utf8')) as Record<string, string>;

/** Paths in the descriptions file that no longer name a field of the schema. */
export function staleDescriptions(): string[] {
  const known = new Set(configFields().map((f) => f.path));
  return Object.keys(FIELD_DESCRIPTIONS).filter((p) => !known.has(p));
}

const cell = (s: string) => s.replace(/\|/g, '\\|');

function table(fields: readonly ConfigField[]): string[] {
  return [
    '| field | type | default | constraints | description |',
    '|---|---|---|---|---|',
    ...fields.map((f) => `| ${code(f.path)} | ${cell(code(f.type))} | ${cell(f.default)} | ${cell(f.constraints)} | ${cell(f.description)} |`),
  ];
}

const INTRO = `# Configuration reference

<!-- generated by npm run docs (bin/config-reference.ts) from lib/config/schema.ts and lib/config/fleet.ts; edit
bin/config-field-descriptions.json (or the schema), not this page: test/config-reference.test.ts fails when it differs from the schema -->

One JSON file, the same for \`cdk synth/deploy -c config=FILE\` and for the local runner's \`--config FILE\`, validated by
\`lib/config/schema.ts\` (zod). Any invalid value fails \`cdk synth\` with the path of the field, e.g.
\`config.targets[0].schemas[1]: must be 1-64 characters of letters, digits, _ or $\`. A bare \`npx cdk synth\` uses
[\`config/example.json\`](../config/example.json).

\`\`\`json
{
  "timeZone": "Europe/Berlin",
  "network": { "vpcId": "vpc-…", "subnetIds": ["subnet-…"], "securityGroupIds": ["sg-…"] },
  "alarms": { "email": ["oncall@example.com"] },
  "targets": [
    {
      "name": "prod",
      "secretArn": "arn:aws:secretsmanager:eu-central-1:123456789012:secret:prod-db-AbCdEf",
      "schemas": ["app"],
      "cleanupRules": [
        { "table": "django_session", "dateColumn": "expire_date", "retentionDays": 30, "action": "delete" },
        { "table": "django_admin_log", "dateColumn": "action_time", "retentionDays": 90, "action": "archive" }
      ]
    }
  ],
  "thresholds": { "fragmentationPercent": 30, "optimizeMinSizeMb": 100, "analyzeAfterDays": 7 },
  "reports": { "from": "dbmaint@example.com", "to": ["admin@example.com"] }
}
\`\`\`

Each table lists a field's path (\`[]\`: each element of a list; \`<id>\`: a task or routine id), its type, its default
(\`required\`: no default, the field must be given; \`none\`: absent unless set), the constraints the schema checks and
what the field does. Checks across fields are not in these tables: \`purge.minChunkRows\` ≤ \`initialChunkRows\` ≤
\`maxChunkRows\`, unique target names, contradictions between a target's rules, \`excludeTables\` and \`rebuildTables\`
([configuration-checks.md](configuration-checks.md)), schedules DST would skip ([schedules.md](schedules.md)), the
fleet's secret grants and routine schedules ([deploy-at-scale.md](deploy-at-scale.md#refusals)).`;

/** docs/configuration.md: a section per top-level field holding fields (and per field of `targets[]` holding fields). */
export function configReferenceMarkdown(): string {
  const fields = configFields();
  const sections: { title: string; rows: ConfigField[] }[] = [];
  const scalars: ConfigField[] = [];
  // A section starts at a top-level object, and at an object-valued field of a top-level list (targets[].cleanupRules[]).
  const isSectionHead = (f: ConfigField) =>
    f.hasFields && (f.depth === 0 || (f.depth === 1 && fields.some((p) => p.depth === 0 && p.type.endsWith('[]') && f.path.startsWith(`${p.path}[].`))));
  const inside = (f: ConfigField, title: string) => f.path.startsWith(`${title}.`) || f.path.startsWith(`${title}[].`);
  for (const f of fields) if (isSectionHead(f)) sections.push({ title: f.path, rows: [] });
  for (const f of fields) {
    const home = sections.filter((s) => s.title === f.path || inside(f, s.title)).sort((a, b) => b.title.length - a.title.length)[0];
    (home?.rows ?? scalars).push(f);
  }
  const body = [
    '## Top-level fields',
    '',
    ...table(scalars),
    ...sections.flatMap((s) => ['', `## \`${s.title}\``, '', ...table(s.rows)]),
  ];
  return [INTRO, '', ...body, ''].join('\n');
}
