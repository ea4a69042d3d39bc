import { ADDRESS_RULE, LoginThrottle, PAIR_RULE } from './login-throttle.service';

describe('LoginThrottle', () => {
  const T0 = 1_000_000;

  function failTimes(throttle: LoginThrottle, times: number, account = 'a@x.test', address = '10.0.0.1', now = T0) {
    for (let i = 0; i < times; i++) throttle.failed('acme', account, address, now);
  }

  it('allows four failures and refuses the next attempt from that address for that account for a minute', () => {
    const throttle = new LoginThrottle();
    failTimes(throttle, 4);
    expect(throttle.allows('acme', 'a@x.test', '10.0.0.1', T0)).toBe(true);
    failTimes(throttle, 1);
    expect(throttle.allows('acme', 'a@x.test', '10.0.0.1', T0 + PAIR_RULE.baseMs - 1)).toBe(false);
    expect(throttle.allows('acme', 'a@x.test', '10.0.0.1', T0 + PAIR_RULE.baseMs)).toBe(true);
  });

  it('doubles the window with each further failure, up to the cap', () => {
    const throttle = new LoginThrottle();
    failTimes(throttle, 6);
    expect(throttle.allows('acme', 'a@x.test', '10.0.0.1', T0 + 2 * PAIR_RULE.baseMs - 1)).toBe(false);
    expect(throttle.allows('acme', 'a@x.test', '10.0.0.1', T0 + 2 * PAIR_RULE.baseMs)).toBe(true);
    failTimes(throttle, 10);
    expect(throttle.allows('acme', 'a@x.test', '10.0.0.1', T0 + PAIR_RULE.maxMs)).toBe(true);
  });

  it('never locks the account for other addresses, nor other tenants with the same email', () => {
    const throttle = new LoginThrottle();
    failTimes(throttle, 10);
    expect(throttle.allows('acme', 'a@x.test', '10.0.0.2', T0)).toBe(true);
    expect(throttle.allows('globex', 'a@x.test', '10.0.0.1', T0)).toBe(true);
  });

  it('clears the pair after a success', () => {
    const throttle = new LoginThrottle();
    failTimes(throttle, 4);
    throttle.succeeded('acme', 'a@x.test', '10.0.0.1');
    failTimes(throttle, 4);
    expect(throttle.allows('acme', 'a@x.test', '10.0.0.1', T0)).toBe(true);
  });

  it('slows an address that fails across many accounts, and only that address', () => {
    const throttle = new LoginThrottle();
    for (let i = 0; i < ADDRESS_RULE.threshold; i++) throttle.failed('acme', `user${i}@x.test`, '10.0.0.9', T0);
    expect(throttle.allows('acme', 'fresh@x.test', '10.0.0.9', T0)).toBe(false);
    expect(throttle.allows('acme', 'fresh@x.test', '10.0.0.8', T0)).toBe(true);
  });
});
