// Pure parts of the lock diagnostics: MDL modes, the deadlock report, the per-server sources (MySQL 8 has none here), the one-line form.
import { describe, expect, it } from 'vitest';
import { parseServerVersion } from '../lib/db/flavour';
import { parseLatestDeadlock } from '../lib/db/innodb-deadlock';
import { metadataLockHint, rowLockSource, rowLockWaitSql } from '../lib/db/lock-holders';
import { diagnosisOf, lockDiagnosis, lockErrorKind, LockWaitError } from '../lib/db/lock-report';
import { blocks, mdlBlockers, mdlMode } from '../lib/db/mdl-modes';

const MARIADB = parseServerVersion('10.11.19-MariaDB-0+deb12u1');
const MYSQL8 = parseServerVersion('8.0.39');
const AURORA3 = parseServerVersion('8.0.32', 'Source distribution', '3.05.2');

describe('metadata-lock modes', () => {
  it('reads both servers’ names', () => {
    expect(mdlMode('MDL_SHARED_NO_READ_WRITE')).toBe('SNRW');
    expect(mdlMode('SHARED_WRITE')).toBe('SW');
    expect(mdlMode('MDL_BACKUP_DDL')).toBeUndefined();
  });
  it('DML waits for LOCK TABLES and an ALTER’s exclusive lock, not for readers and writers', () => {
    expect(blocks('MDL_SHARED_READ', 'SW')).toBe(false);
    expect(blocks('SHARED_WRITE', 'SW')).toBe(false);
    expect(blocks('SHARED_UPGRADABLE', 'SW')).toBe(false);
    expect(blocks('MDL_SHARED_NO_READ_WRITE', 'SW')).toBe(true);
    expect(blocks('SHARED_READ_ONLY', 'SW')).toBe(true);
    expect(blocks('EXCLUSIVE', 'SR')).toBe(true);
    expect(blocks('MDL_SHARED_READ', 'X')).toBe(true);
    expect(blocks('SOMETHING_NEW', 'S')).toBe(true); // unknown: shown rather than hidden
  });
  it('names the holder of an incompatible lock; behind a pending ALTER, the ALTER and the holders it waits for', () => {
    const ours = { connectionId: 1, mode: 'SHARED_WRITE', status: 'PENDING' as const };
    expect(mdlBlockers(1, 'SW', [ours, { connectionId: 7, mode: 'SHARED_NO_READ_WRITE', status: 'GRANTED' }, { connectionId: 8, mode: 'SHARED_READ', status: 'GRANTED' }])).toEqual([
      { connectionId: 7, mode: 'SHARED_NO_READ_WRITE', role: 'holds' },
    ]);
    expect(
      mdlBlockers(1, 'SW', [
        ours,
        { connectionId: 8, mode: 'SHARED_READ', status: 'GRANTED' },
        { connectionId: 9, mode: 'SHARED_UPGRADABLE', status: 'GRANTED' },
        { connectionId: 9, mode: 'EXCLUSIVE', status: 'PENDING' },
        { connectionId: 10, mode: 'SHARED_WRITE', status: 'PENDING' },
      ]),
    ).toEqual([
      { connectionId: 9, mode: 'EXCLUSIVE', role: 'queued ahead' },
      { connectionId: 8, mode: 'SHARED_READ', role: 'holds' },
    ]);
    expect(mdlBlockers(1, 'SW', [ours, { connectionId: 8, mode: 'SHARED_READ', status: 'GRANTED' }])).toEqual([]);
  });
});

// Printed by MariaDB 10.11 for a real deadlock (two sessions updating ids 1 and 2 in opposite orders).
const MARIADB_DEADLOCK = `------------------------
LATEST DETECTED DEADLOCK
------------------------
2026-12-02 04:16:55 0x7f3c0418b6c0
*** (1) TRANSACTION:
TRANSACTION 35, ACTIVE 1 sec starting index read
mysql tables in use 1, locked 1
LOCK WAIT 3 lock struct(s), heap size 1128, 2 row lock(s), undo log entries 1
MariaDB thread id 24, OS thread handle 139895743493824, query id 86 127.0.0.1 dbmaint Updating
update x.t set v=v+1 where id=1
*** WAITING FOR THIS LOCK TO BE GRANTED:
RECORD LOCKS space id 5 page no 3 n bits 320 index PRIMARY of table \`x\`.\`t\` trx id 35 lock_mode X locks rec but not gap waiting
Record lock, heap no 2 PHYSICAL RECORD: n_fields 4; compact format; info bits 0

*** CONFLICTING WITH:
RECORD LOCKS space id 5 page no 3 n bits 320 index PRIMARY of table \`x\`.\`t\` trx id 34 lock_mode X locks rec but not gap


*** (2) TRANSACTION:
TRANSACTION 34, ACTIVE 1 sec starting index read
mysql tables in use 1, locked 1
LOCK WAIT 3 lock struct(s), heap size 1128, 2 row lock(s), undo log entries 1
MariaDB thread id 23, OS thread handle 139895742572224, query id 85 127.0.0.1 dbmaint Updating
update x.t set v=v+1 where id=2
*** WAITING FOR THIS LOCK TO BE GRANTED:
RECORD LOCKS space id 5 page no 3 n bits 320 index PRIMARY of table \`x\`.\`t\` trx id 34 lock_mode X locks rec but not gap waiting

*** WE ROLL BACK TRANSACTION (1)
------------
TRANSACTIONS
------------
Trx id counter 37
`;

// The MySQL 8.0 form (from its documentation's example): "MySQL thread id", HOLDS THE LOCK(S) before WAITING FOR.
const MYSQL_DEADLOCK = `------------------------
LATEST DETECTED DEADLOCK
------------------------
2024-05-01 10:00:00 140121098565376
*** (1) TRANSACTION:
TRANSACTION 1850, ACTIVE 5 sec starting index read
mysql tables in use 1, locked 1
LOCK WAIT 3 lock struct(s), heap size 1128, 2 row lock(s)
MySQL thread id 9, OS thread handle 139876, query id 52 10.0.0.5 app updating
UPDATE shop.orders SET state = 'x' WHERE id = 2

*** (1) HOLDS THE LOCK(S):
RECORD LOCKS space id 2 page no 4 n bits 72 index PRIMARY of table \`shop\`.\`orders\` trx id 1850 lock_mode X locks rec but not gap

*** (1) WAITING FOR THIS LOCK TO BE GRANTED:
RECORD LOCKS space id 2 page no 4 n bits 72 index PRIMARY of table \`shop\`.\`orders\` trx id 1850 lock_mode X locks rec but not gap waiting

*** (2) TRANSACTION:
TRANSACTION 1851, ACTIVE 3 sec starting index read
mysql tables in use 1, locked 1
LOCK WAIT 3 lock struct(s), heap size 1128, 2 row lock(s)
MySQL thread id 10, OS thread handle 139877, query id 53 localhost dbmaint updating
DELETE shop.orders FROM shop.orders FORCE INDEX (PRIMARY) WHERE id <= 100

*** WE ROLL BACK TRANSACTION (2)
------------
TRANSACTIONS
`;

describe('the latest deadlock report', () => {
  it('reads MariaDB’s form', () => {
    expect(parseLatestDeadlock(MARIADB_DEADLOCK)).toEqual({
      at: '2026-12-02 04:16:55',
      rolledBack: 1,
      transactions: [
        { n: 1, connectionId: 24, host: '127.0.0.1', user: 'dbmaint', statement: 'update x.t set v=v+1 where id=1', waitedFor: '`x`.`t` (index PRIMARY)' },
        { n: 2, connectionId: 23, host: '127.0.0.1', user: 'dbmaint', statement: 'update x.t set v=v+1 where id=2', waitedFor: '`x`.`t` (index PRIMARY)' },
      ],
    });
  });
  it('reads MySQL 8’s form', () => {
    const r = parseLatestDeadlock(MYSQL_DEADLOCK)!;
    expect(r.rolledBack).toBe(2);
    expect(r.transactions.map((t) => [t.connectionId, t.user, t.host, t.waitedFor])).toEqual([
      [9, 'app', '10.0.0.5', '`shop`.`orders` (index PRIMARY)'],
      [10, 'dbmaint', 'localhost', null],
    ]);
    expect(r.transactions[1]!.statement).toMatch(/^DELETE shop\.orders/);
  });
  it('is undefined without the section (no deadlock since the server started)', () => {
    expect(parseLatestDeadlock('=====\nBACKGROUND THREAD\n-----\nTRANSACTIONS\n')).toBeUndefined();
  });
});

describe('where each server shows lock waits', () => {
  it('MariaDB: information_schema.INNODB_LOCK_WAITS; MySQL 8 and Aurora MySQL 3: performance_schema.data_lock_waits', () => {
    expect(rowLockWaitSql(MARIADB)).toMatch(/FROM information_schema\.INNODB_LOCK_WAITS w/);
    expect(rowLockWaitSql(MARIADB)).not.toMatch(/performance_schema/);
    for (const f of [MYSQL8, AURORA3]) {
      expect(rowLockWaitSql(f)).toMatch(/FROM performance_schema\.data_lock_waits w/);
      expect(rowLockWaitSql(f)).toMatch(/LEFT JOIN performance_schema\.data_locks l ON l\.ENGINE_LOCK_ID = w\.BLOCKING_ENGINE_LOCK_ID/);
      expect(rowLockWaitSql(f)).not.toMatch(/INNODB_LOCK/);
    }
    expect(rowLockSource(MYSQL8)).toMatch(/performance_schema\.data_lock_waits needs SELECT on performance_schema/);
    expect(rowLockSource(MARIADB)).toMatch(/INNODB_LOCK_WAITS needs the PROCESS privilege/);
  });
  it('says how to make metadata-lock holders visible on each', () => {
    expect(metadataLockHint(MARIADB)).toMatch(/INSTALL SONAME 'metadata_lock_info'/);
    expect(metadataLockHint(MYSQL8)).toMatch(/setup_instruments SET ENABLED = 'YES' WHERE NAME = 'wait\/lock\/metadata\/sql\/mdl'/);
  });
});

describe('lock errors and their one-line form', () => {
  it('knows lock wait timeouts (with a number, or as ANALYZE prints them) and deadlocks, nothing else', () => {
    expect(lockErrorKind({ errno: 1205, sqlMessage: 'Lock wait timeout exceeded; try restarting transaction' })).toBe('timeout');
    expect(lockErrorKind({ errno: 1213 })).toBe('deadlock');
    expect(lockErrorKind(new Error('Lock wait timeout exceeded; try restarting transaction'))).toBe('timeout');
    expect(lockErrorKind({ errno: 1317, sqlMessage: 'Query execution was interrupted' })).toBeUndefined();
    expect(lockErrorKind({ errno: 1146, sqlMessage: 'Lock wait timeout exceeded (a table name)' })).toBeUndefined();
  });
  it('keeps number, code and the server’s message; adds the diagnosis to sqlMessage only', () => {
    const d = lockDiagnosis({
      kind: 'row lock',
      object: '`shop`.`orders` (index PRIMARY)',
      observed: 'while waiting',
      seenAtSeconds: 4.5,
      blockers: [
        { connectionId: 42, role: 'holds', user: 'app', host: '10.0.0.5:51234', command: 'Sleep', seconds: 12, state: null, statement: null, transactionSeconds: 14, lock: 'X record lock on 1001' },
      ],
      unseen: [],
    });
    expect(d.summary).toBe(
      'row lock on `shop`.`orders` (index PRIMARY), held by connection 42 (app@10.0.0.5:51234, Sleep 12 s, transaction open 14 s, holds X record lock on 1001) (seen while waiting, 4.5 s in)',
    );
    const err = new LockWaitError(Object.assign(new Error('Lock wait timeout exceeded; try restarting transaction'), { errno: 1205, code: 'ER_LOCK_WAIT_TIMEOUT' }), d);
    expect([err.errno, err.code, err.message]).toEqual([1205, 'ER_LOCK_WAIT_TIMEOUT', 'Lock wait timeout exceeded; try restarting transaction']);
    expect(err.sqlMessage).toBe(`Lock wait timeout exceeded; try restarting transaction — ${d.summary}`);
    expect(diagnosisOf(err)).toBe(d);
    const none = lockDiagnosis({ kind: 'metadata lock', object: null, observed: 'after the error', seenAtSeconds: null, blockers: [], unseen: ['a', 'a', 'b'] });
    expect(none.summary).toBe('metadata lock, holder not seen (not seen while waiting); not visible: a; b');
  });
});
