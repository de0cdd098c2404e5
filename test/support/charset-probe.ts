// Bundled by test/bundle.test.ts with the Lambda options: reads non-UTF-8 columns through a dbmaint session and prints them.
import { openSession } from '../../lib/db/connection';
import { credentialsFromUrl } from '../../lib/db/credentials';

async function main(url: string, table: string): Promise<void> {
  const db = await openSession(credentialsFromUrl(url), { lockWaitTimeoutSeconds: 5, innodbLockWaitTimeoutSeconds: 5, connectTimeoutSeconds: 5 }, 'disabled');
  const rows = await db.query(`SELECT * FROM ${table} ORDER BY id`);
  await db.close();
  console.log('ROWS ' + JSON.stringify(rows));
}

const [url, table] = process.argv.slice(2);
main(url!, table!).catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
