import { controlPlaneDatabaseUrl, derivedRolePrefix, derivedRolePassword, ROLE_PREFIX, rolePrefixOf, runtimeDatabaseUrl, runtimeRoleName } from './database-roles';
import { tenantRoleName } from '../tenancy/tenant-id.util';

describe('database role names', () => {
  it('derives a prefix from the database name: the name itself when short, else a shortened name and a hash', () => {
    expect(derivedRolePrefix('tenantry')).toBe('tenantry_');
    const long = derivedRolePrefix('tenantry_test_0123456789ab');
    expect(long).toMatch(/^tenantry_t_[0-9a-f]{6}_$/);
    expect(derivedRolePrefix('tenantry_test_0123456789ac')).not.toBe(long);
    for (const name of ['postgres', 'My-DB', '1abc', 'x'.repeat(80)]) expect(derivedRolePrefix(name)).toMatch(ROLE_PREFIX);
  });

  it('fits the longest tenant id under the longest prefix in 63 bytes', () => {
    expect(Buffer.byteLength(tenantRoleName('p'.repeat(23), 'a'.repeat(40)))).toBe(63);
    expect(() => tenantRoleName('p_', 'Not_An_Id')).toThrow();
  });

  it('names the runtime role with a suffix no tenant id can have, and derives its URL and a stable password', () => {
    const config = { databaseUrl: 'postgresql://postgres:secret@127.0.0.1:5432/tenantry', tenantRolePrefix: undefined, databaseRuntimeUrl: undefined };
    expect(rolePrefixOf(config)).toBe('tenantry_');
    expect(runtimeRoleName('tenantry_')).toContain('_runtime');
    const url = new URL(runtimeDatabaseUrl(config));
    expect(url.username).toBe('tenantry_platform_runtime');
    expect(url.password).toBe(derivedRolePassword(config.databaseUrl, 'tenantry_platform_runtime'));
    expect(url.password).not.toBe('secret');
    expect(runtimeDatabaseUrl({ ...config, databaseRuntimeUrl: 'postgresql://app:pw@db/x' })).toBe('postgresql://app:pw@db/x');
    expect(derivedRolePassword('postgresql://postgres@127.0.0.1/tenantry', 'r')).toBeUndefined();
  });

  it('gives the control plane a role of its own, with a password distinct from the runtime role\'s', () => {
    const config = { databaseUrl: 'postgresql://postgres:secret@127.0.0.1:5432/tenantry', tenantRolePrefix: undefined };
    const url = new URL(controlPlaneDatabaseUrl(config));
    expect(url.username).toBe('tenantry_control_plane');
    expect(url.password).toBe(derivedRolePassword(config.databaseUrl, 'tenantry_control_plane'));
    expect(url.password).not.toBe(new URL(runtimeDatabaseUrl({ ...config, databaseRuntimeUrl: undefined })).password);
    expect(url.pathname).toBe('/tenantry');
  });
});
