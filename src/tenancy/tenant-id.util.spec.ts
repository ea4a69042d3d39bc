import { isValidTenantId, quoteIdentifier, TENANT_SCHEMA_PREFIX, tenantIdProblem, tenantSchemaName } from './tenant-id.util';

const VALID = ['ab', 'acme', 'a1', 'a-b', 'a--b', 'initech-2', 't-0123456789', 'a'.repeat(40), `a${'-'.repeat(38)}z`];

const INVALID: [string, string][] = [
  ['', 'empty'],
  ['a', 'one character'],
  ['a'.repeat(41), '41 characters'],
  ['a'.repeat(70), '70 characters'],
  ['Acme', 'an upper-case letter'],
  ['ACME', 'all upper case'],
  ['acme-', 'a trailing "-"'],
  ['-acme', 'a leading "-"'],
  ['1acme', 'a leading digit'],
  ['ac_me', 'an underscore (schema names use it for "-")'],
  ['ac.me', 'a dot'],
  ['ac me', 'a space'],
  ['acme\n', 'a trailing newline'],
  ['acme"', 'a double quote'],
  ['ac"; DROP SCHEMA public; --', 'SQL'],
  ["ac'me", 'a single quote'],
  ['\u0430cme', 'a Cyrillic "а" look-alike'],
  ['acm\u0435', 'a Cyrillic "е" look-alike'],
  ['\uff41\uff43\uff4d\uff45', 'full-width letters'],
  ['acmé', 'an accented letter'],
  ['ac\u200bme', 'a zero-width space'],
];

describe('tenant ids', () => {
  it.each(VALID)('accepts %s', (id) => {
    expect(isValidTenantId(id)).toBe(true);
    expect(tenantIdProblem(id)).toBeUndefined();
  });

  it.each(INVALID)('rejects %j (%s)', (id) => {
    expect(isValidTenantId(id)).toBe(false);
    expect(tenantIdProblem(id)).toMatch(/2-40 characters/);
  });

  it.each(['www', 'api', 'admin'])('rejects the reserved id %s', (id) => {
    expect(isValidTenantId(id)).toBe(false);
    expect(tenantIdProblem(id)).toBe(`"${id}" is reserved`);
  });

  it('accepts 40 characters and rejects 41', () => {
    expect(isValidTenantId(`t${'0'.repeat(39)}`)).toBe(true);
    expect(isValidTenantId(`t${'0'.repeat(40)}`)).toBe(false);
  });

  it.each([undefined, null, 42, ['acme'], { id: 'acme' }])('rejects the non-string %j', (value) => {
    expect(isValidTenantId(value)).toBe(false);
  });
});

describe('tenantSchemaName', () => {
  it('prefixes the id and turns "-" into "_"', () => {
    expect(tenantSchemaName('acme')).toBe('tenant_acme');
    expect(tenantSchemaName('big-co-2')).toBe('tenant_big_co_2');
  });

  it('maps distinct ids to distinct schema names of at most 63 bytes, and back', () => {
    const ids = [...VALID, 'ab-c', 'a-bc', 'abc', 'a-b-c', `z${'-9'.repeat(19)}`];
    const names = ids.map(tenantSchemaName);
    expect(new Set(names).size).toBe(new Set(ids).size);
    for (const [i, name] of names.entries()) {
      expect(Buffer.byteLength(name)).toBeLessThanOrEqual(63);
      expect(name).toMatch(/^tenant_[a-z][a-z0-9_]*$/);
      expect(name.slice(TENANT_SCHEMA_PREFIX.length).replace(/_/g, '-')).toBe(ids[i]);
    }
    expect(Buffer.byteLength(tenantSchemaName('a'.repeat(40)))).toBe(47);
  });

  it.each([...INVALID.map(([id]) => id), 'www', 'api', 'admin'])('refuses to build a schema name from %j', (id) => {
    expect(() => tenantSchemaName(id)).toThrow('Refusing to build a schema name from an invalid tenant id');
  });
});

describe('quoteIdentifier', () => {
  it('double-quotes and escapes embedded quotes', () => {
    expect(quoteIdentifier('tenant_acme')).toBe('"tenant_acme"');
    expect(quoteIdentifier('we"ird')).toBe('"we""ird"');
  });
});
