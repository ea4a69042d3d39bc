import { loadConfig } from '../config/config';
import { JwtKeys, keyIdOf } from './jwt-keys.service';

const CURRENT = 'the-current-secret-of-at-least-32-bytes';
const PREVIOUS = 'the-previous-secret-of-at-least-32-bytes';
const UNTIL = '2026-12-01T00:00:00.000Z';

describe('JwtKeys', () => {
  const keys = new JwtKeys(loadConfig({ JWT_SECRET: CURRENT, JWT_PREVIOUS_SECRET: PREVIOUS, JWT_PREVIOUS_SECRET_UNTIL: UNTIL }));

  it('signs with the current key under its kid', () => {
    expect(keys.signing.kid).toBe(keyIdOf(CURRENT));
    expect(keys.signing.key.export().toString()).toBe(CURRENT);
  });

  it('verifies the previous kid strictly before JWT_PREVIOUS_SECRET_UNTIL, and never from then on', () => {
    const until = Date.parse(UNTIL);
    expect(keys.verifying(keyIdOf(PREVIOUS), until - 1)?.export().toString()).toBe(PREVIOUS);
    expect(keys.verifying(keyIdOf(PREVIOUS), until)).toBeUndefined();
    expect(keys.verifying(keyIdOf(CURRENT), until + 1)?.export().toString()).toBe(CURRENT);
  });

  it('knows no other kid, and no previous key unless configured', () => {
    expect(keys.verifying(undefined)).toBeUndefined();
    expect(keys.verifying('nope')).toBeUndefined();
    expect(new JwtKeys(loadConfig({ JWT_SECRET: CURRENT })).verifying(keyIdOf(PREVIOUS), 0)).toBeUndefined();
  });

  it('names keys by a digest that does not contain the secret', () => {
    expect(keyIdOf(CURRENT)).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(keyIdOf(CURRENT)).not.toBe(keyIdOf(PREVIOUS));
  });
});
