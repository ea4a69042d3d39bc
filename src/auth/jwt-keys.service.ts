import { Inject, Injectable } from '@nestjs/common';
import { createHash, createSecretKey, type KeyObject } from 'node:crypto';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';

/** The `kid` of a secret: a digest, so the header names the key without revealing anything about it. */
export function keyIdOf(secret: string): string {
  return createHash('sha256').update(`tenantry-jwt-kid:${secret}`).digest('base64url').slice(0, 16);
}

interface Key {
  kid: string;
  key: KeyObject;
  /** Tokens signed with this key verify only before this time (the previous key's overlap). */
  until?: Date;
}

/**
 * The HS256 keys: the current one signs and verifies; during a rotation the previous one (JWT_PREVIOUS_SECRET)
 * still verifies until JWT_PREVIOUS_SECRET_UNTIL, so tokens issued before the switch keep working that long.
 */
@Injectable()
export class JwtKeys {
  private readonly current: Key;
  private readonly previous?: Key;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    // KeyObjects, not strings: jsonwebtoken otherwise tries (and fails) to parse the secret as a public key on every verify.
    this.current = { kid: keyIdOf(config.jwt.secret), key: createSecretKey(Buffer.from(config.jwt.secret)) };
    const previous = config.jwt.previous;
    if (previous) this.previous = { kid: keyIdOf(previous.secret), key: createSecretKey(Buffer.from(previous.secret)), until: previous.until };
  }

  get signing(): { kid: string; key: KeyObject } {
    return this.current;
  }

  /** The key a token with this `kid` must verify against, or undefined: unknown kid, or the overlap is over. */
  verifying(kid: unknown, now = Date.now()): KeyObject | undefined {
    if (kid === this.current.kid) return this.current.key;
    if (this.previous && kid === this.previous.kid && now < this.previous.until!.getTime()) return this.previous.key;
    return undefined;
  }
}
