import { JwtService } from '@nestjs/jwt';
import { loadConfig } from '../config/config';
import { AccessTokens } from './access-tokens.service';
import { JwtKeys } from './jwt-keys.service';

const CURRENT = 'the-current-secret-of-at-least-32-bytes';
const PREVIOUS = 'the-previous-secret-of-at-least-32-bytes';
const CLAIMS = { sub: '6f1c1d2e-5b7a-4c3d-9e8f-0a1b2c3d4e5f', tid: 'acme', role: 'ADMIN' as const };

function tokensWith(env: Record<string, string>) {
  const config = loadConfig({ JWT_SECRET: CURRENT, JWT_ACCESS_TTL: '60', ...env });
  return new AccessTokens(new JwtService(), new JwtKeys(config), config);
}

describe('AccessTokens', () => {
  afterEach(() => jest.useRealTimers());

  it('accepts a token it verified before only while it is unexpired', async () => {
    jest.useFakeTimers({ now: Date.parse('2026-11-25T12:00:00Z'), doNotFake: ['nextTick', 'setImmediate'] });
    const tokens = tokensWith({});
    const { accessToken } = await tokens.issue(CLAIMS);
    expect(await tokens.verify(accessToken)).toMatchObject(CLAIMS);
    expect(await tokens.verify(accessToken)).toMatchObject(CLAIMS);
    jest.setSystemTime(Date.parse('2026-11-25T12:01:00Z'));
    expect(await tokens.verify(accessToken)).toBeUndefined();
  });

  it('stops accepting a token it verified before once its key is rotated out', async () => {
    const until = Date.parse('2026-12-01T00:00:00Z');
    jest.useFakeTimers({ now: until - 10_000, doNotFake: ['nextTick', 'setImmediate'] });
    const old = await tokensWith({ JWT_SECRET: PREVIOUS }).issue(CLAIMS);
    const rotated = tokensWith({ JWT_PREVIOUS_SECRET: PREVIOUS, JWT_PREVIOUS_SECRET_UNTIL: new Date(until).toISOString() });
    expect(await rotated.verify(old.accessToken)).toMatchObject(CLAIMS);
    jest.setSystemTime(until);
    expect(await rotated.verify(old.accessToken)).toBeUndefined();
  });

  it('never accepts a token whose signature does not verify, however often it is sent', async () => {
    const tokens = tokensWith({});
    const { accessToken } = await tokens.issue(CLAIMS);
    const forged = accessToken.slice(0, -2) + (accessToken.endsWith('AA') ? 'BB' : 'AA');
    for (let i = 0; i < 3; i++) expect(await tokens.verify(forged)).toBeUndefined();
  });
});
