// Identifier quoting and parsing: the one place names become SQL.
import { describe, expect, it } from 'vitest';
import { IdentifierError, isNamedIn, parseTableRef, qualifiedName, quoteIdentifier } from '../lib/db/identifiers';
import { cronExpression } from '../lib/catalogue';
import { parseServerVersion, hasStatsExpiry, isSupported } from '../lib/db/flavour';
import { tlsOptionsFor } from '../lib/db/connection';

describe('identifiers', () => {
  it('doubles backticks and keeps unicode', () => {
    expect(quoteIdentifier('orders')).toBe('`orders`');
    expect(quoteIdentifier('x`; DROP TABLE y; --')).toBe('`x``; DROP TABLE y; --`');
    expect(quoteIdentifier('tëst"\'')).toBe('`tëst"\'`');
    expect(qualifiedName('a`b', 'c')).toBe('`a``b`.`c`');
  });
  it('refuses names the server could not hold', () => {
    expect(() => quoteIdentifier('')).toThrow(IdentifierError);
    expect(() => quoteIdentifier('a'.repeat(65))).toThrow(/longer than 64/);
    expect(() => quoteIdentifier('a\u0000b')).toThrow(/NUL/);
    expect(() => quoteIdentifier('trailing ')).toThrow(/ends with a space/);
  });
  it('parses operator table references strictly', () => {
    expect(parseTableRef('events')).toEqual({ table: 'events' });
    expect(parseTableRef('app.events')).toEqual({ schema: 'app', table: 'events' });
    for (const bad of ['a.b.c', 'ev`ents', 'events;', 'événements', '', 'a b']) expect(() => parseTableRef(bad), bad).toThrow(IdentifierError);
  });
});

describe('table references', () => {
  it('a reference without a schema names the table in any schema; with one, only there', () => {
    const refs = [parseTableRef('sessions'), parseTableRef('shop.orders')];
    expect(isNamedIn(refs, 'shop', 'sessions')).toBe(true);
    expect(isNamedIn(refs, 'crm', 'sessions')).toBe(true);
    expect(isNamedIn(refs, 'shop', 'orders')).toBe(true);
    expect(isNamedIn(refs, 'crm', 'orders')).toBe(false);
    expect(isNamedIn(refs, 'shop', 'events')).toBe(false);
    expect(isNamedIn([], 'shop', 'sessions')).toBe(false);
  });
});

describe('catalogue cron, flavour and TLS', () => {
  it('writes Scheduler cron with ? in exactly one day field', () => {
    expect(cronExpression({ minute: '15', hour: '0/6' })).toBe('cron(15 0/6 * * ? *)');
    expect(cronExpression({ minute: '0', hour: '4', weekDay: 'SUN' })).toBe('cron(0 4 ? * SUN *)');
    expect(cronExpression({ minute: '0', hour: '4', day: '1' })).toBe('cron(0 4 1 * ? *)');
  });
  it('detects flavours', () => {
    const maria = parseServerVersion('10.11.19-MariaDB-0+deb12u1', 'Debian 12');
    expect(maria).toMatchObject({ kind: 'mariadb', major: 10, minor: 11 });
    expect(hasStatsExpiry(maria)).toBe(false);
    const mysql8 = parseServerVersion('8.0.39', 'MySQL Community Server - GPL');
    expect(mysql8.kind).toBe('mysql');
    expect(hasStatsExpiry(mysql8)).toBe(true);
    expect(parseServerVersion('8.0.32', 'Source distribution', '3.05.2')).toMatchObject({ kind: 'aurora-mysql', auroraVersion: '3.05.2' });
    expect(isSupported(parseServerVersion('5.7.44', ''))).toBe(false);
    expect(isSupported(parseServerVersion('10.5.2-MariaDB', ''))).toBe(false);
  });
  it('uses the RDS CA bundle for remote hosts unless disabled', () => {
    expect(tlsOptionsFor('127.0.0.1', 'auto')).toBeUndefined();
    const tls = tlsOptionsFor('prod.abc.eu-central-1.rds.amazonaws.com', 'auto');
    expect(tls?.rejectUnauthorized).toBe(true);
    expect((tls?.ca as string[]).length).toBeGreaterThan(10);
    expect(tlsOptionsFor('127.0.0.1', 'required')).toBeDefined();
    expect(tlsOptionsFor('db.example', 'disabled')).toBeUndefined();
  });
});
