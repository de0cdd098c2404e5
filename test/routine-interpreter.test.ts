// The routines' own synthesized ASL, executed by an ASL interpreter with every task served by its handler against MariaDB: 20 and 2,000 tables.
import { createRequire } from 'node:module';
import { Template } from 'aws-cdk-lib/assertions';
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getRoutine, ROUTINES } from '../lib/catalogue';
import type { DbMaintConfig } from '../lib/config/schema';
import { UrlCredentialSource } from '../lib/db/credentials';
import { localSesClient, startSesLocal, type SesLocal } from '../dev/ses-emulator';
import { EmfMetricsPublisher } from '../lib/metrics/emf';
import { SesMailSender } from '../lib/reporting/mail/sender';
import { silentLog } from '../lib/runtime/log';
import { RESULT_MAX_BYTES } from '../lib/tasks/bounded-result';
import { adminConnection, freshSchema, serverUrl, testConfig, testTarget } from './support/db';
import { definitionFromTemplate, interpretRoutine, STATE_PAYLOAD_QUOTA_BYTES, type InterpretedExecution } from './support/routine-interpreter';
import { synthStack } from './support/synth';

const SCHEMA = 'interp_t';
const LOG = 'interp_t_log';
let admin: mysql.Connection;
let ses: SesLocal;

const REPORTS = { from: 'dbmaint@example.com', to: ['dba@example.com'] };
const RULES = [{ table: 't00000', dateColumn: 'created_at', retentionDays: 30, action: 'delete' as const }];
const TARGET = { cleanupRules: RULES, rebuildTables: ['t00001'], archiveOrders: { table: 'orders' } };

function config(): DbMaintConfig {
  return testConfig([SCHEMA], { targets: [testTarget([SCHEMA], TARGET)], reports: REPORTS }, LOG);
}

// The stack synthesized from the same configuration (bundling skipped): its state machines are what runs.
const template = Template.fromStack(
  synthStack({ targets: [{ name: 'test', secretArn: 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:test-db-AbCdEf', schemas: [SCHEMA], ...TARGET }], reports: REPORTS }),
);

/** Tables t<from>…t<to-1>: an auto-increment key, an indexed date, a few rows (some older than the rule's cutoff). */
async function createTables(from: number, to: number): Promise<void> {
  for (let i = from; i < to; i += 100) {
    const batch: string[] = [];
    for (let j = i; j < Math.min(to, i + 100); j++) {
      const t = `t${String(j).padStart(5, '0')}`;
      batch.push(
        `CREATE TABLE \`${SCHEMA}\`.${t} (id INT AUTO_INCREMENT PRIMARY KEY, created_at DATETIME NOT NULL, note VARCHAR(40) NOT NULL, KEY ix_created (created_at)) ENGINE=InnoDB`,
        `INSERT INTO \`${SCHEMA}\`.${t} (created_at, note) VALUES (UTC_TIMESTAMP() - INTERVAL 90 DAY, 'old'), (UTC_TIMESTAMP() - INTERVAL 1 DAY, 'new'), (UTC_TIMESTAMP(), 'now')`,
      );
    }
    await admin.query(batch.join(';\n'));
  }
}

async function run(routineId: string): Promise<InterpretedExecution> {
  const cfg = config();
  return interpretRoutine(
    definitionFromTemplate(template, `dbmaint-${routineId}`),
    { target: 'test' },
    {
      config: cfg,
      credentials: new UrlCredentialSource(serverUrl()),
      metrics: new EmfMetricsPublisher(cfg.metricNamespace, () => undefined),
      log: silentLog,
      mailer: new SesMailSender(localSesClient(ses.endpoint, { maxAttempts: 1 })),
    },
    { stateMachineName: `dbmaint-${routineId}`, executionName: `${routineId}-${Date.now()}` },
  );
}

/** Every step's outcome as the routine recorded it in its state (`$.outcomes`). */
function outcomes(exec: InterpretedExecution): Record<string, string> {
  const o = (exec.output as { outcomes?: Record<string, { task: string; status: string }> }).outcomes ?? {};
  return Object.fromEntries(Object.values(o).map((s) => [s.task, s.status]));
}

/** asl-validator (CommonJS, untyped): the same checks the console runs before it saves a definition. */
const validateAsl = createRequire(import.meta.url)('asl-validator') as (def: unknown, opts?: { checkPaths?: boolean; checkArn?: boolean }) => { isValid: boolean; errors: unknown[] };

describe('the synthesized routines pass asl-validator', () => {
  it.each(ROUTINES.map((r) => r.id))('%s', (id) => {
    const out = validateAsl(definitionFromTemplate(template, `dbmaint-${id}`), { checkPaths: true, checkArn: true });
    expect(out.errors).toEqual([]);
    expect(out.isValid).toBe(true);
  });
});

const sizes: Record<string, { small?: InterpretedExecution; large?: InterpretedExecution }> = {};

beforeAll(async () => {
  admin = await adminConnection();
  await freshSchema(admin, SCHEMA);
  await admin.query(`DROP DATABASE IF EXISTS \`${LOG}\``);
  ses = await startSesLocal();
  await admin.query(
    `CREATE TABLE \`${SCHEMA}\`.orders (id INT AUTO_INCREMENT PRIMARY KEY, status VARCHAR(20) NOT NULL, completed_at DATETIME NULL, KEY ix_completed (completed_at)) ENGINE=InnoDB`,
  );
  await admin.query(`USE \`${SCHEMA}\``);
  await admin.query(`INSERT INTO \`${SCHEMA}\`.orders (status, completed_at) SELECT IF(seq % 3 = 0, 'open', 'completed'), UTC_TIMESTAMP() - INTERVAL seq DAY FROM seq_1_to_800`);
  await createTables(0, 19); // with orders: 20 tables
});
afterAll(async () => {
  await ses?.stop();
  // 2,000 tables would crowd the shared server's table cache for the files that run after this one.
  await admin?.query(`DROP DATABASE IF EXISTS \`${SCHEMA}\``);
  await admin?.end();
});

describe.each(ROUTINES.map((r) => r.id))('%s, interpreted from the synthesized ASL', (id) => {
  const routine = getRoutine(id);
  it('completes on 20 tables: every step succeeds, every state within the quota', async () => {
    const exec = await run(id);
    expect(exec.violations).toEqual([]);
    expect(exec.status).toBe('succeeded');
    expect(outcomes(exec)).toEqual(Object.fromEntries(routine.steps.map((s) => [s.task, 'succeeded'])));
    sizes[id] = { small: exec };
  });
});

describe('2,000 tables', () => {
  beforeAll(async () => {
    await createTables(19, 1999); // with orders: 2,000 tables
  });

  it.each(ROUTINES.map((r) => r.id))('%s completes; its largest state and task result are within 10 percent of those at 20 tables', async (id) => {
    const routine = getRoutine(id);
    const exec = await run(id);
    expect(exec.violations).toEqual([]);
    expect(exec.status).toBe('succeeded');
    expect(outcomes(exec)).toEqual(Object.fromEntries(routine.steps.map((s) => [s.task, 'succeeded'])));
    const small = sizes[id]!.small!;
    expect(exec.maxStateBytes).toBeLessThanOrEqual(small.maxStateBytes * 1.1);
    expect(exec.maxTaskResultBytes).toBeLessThanOrEqual(small.maxTaskResultBytes * 1.1);
    expect(exec.maxTaskResultBytes).toBeLessThanOrEqual(RESULT_MAX_BYTES);
    expect(exec.maxStateBytes).toBeLessThan(STATE_PAYLOAD_QUOTA_BYTES);
    // The analysis really covered the 2,000 tables: what the function left out of its result says how many more there were.
    const analyze = Object.entries(exec.taskResults).find(([name]) => name.includes('analyze-tables'))?.[1];
    process.stderr.write(`${id}: largest state ${small.maxStateBytes} → ${exec.maxStateBytes} bytes (${exec.maxStateName}); largest task result ${small.maxTaskResultBytes} → ${exec.maxTaskResultBytes} bytes (${exec.maxTaskResultState})\n`);
    if (analyze) expect(Object.values(analyze.omitted ?? {}).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  });
});
