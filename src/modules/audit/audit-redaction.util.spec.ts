import { redact, REDACTED } from './audit-redaction.util';

describe('redact', () => {
  it('replaces passwords, hashes, tokens and secrets at any depth and keeps everything else', () => {
    const at = new Date('2026-11-25T08:00:00.000Z');
    expect(
      redact({
        email: 'a@b.test',
        password: 'hunter2-hunter2',
        passwordHash: '$argon2id$…',
        nested: { refreshToken: 'abc', list: [{ accessToken: 'x', clientSecret: 'y', name: 'kept' }] },
        createdAt: at,
        skipped: undefined,
      }),
    ).toEqual({
      email: 'a@b.test',
      password: REDACTED,
      passwordHash: REDACTED,
      nested: { refreshToken: REDACTED, list: [{ accessToken: REDACTED, clientSecret: REDACTED, name: 'kept' }] },
      createdAt: '2026-11-25T08:00:00.000Z',
    });
  });

  it('stores an absent snapshot as null', () => {
    expect(redact(undefined)).toBeNull();
  });
});
