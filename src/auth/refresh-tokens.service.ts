import { Inject, Injectable } from '@nestjs/common';
import { createHash, randomBytes } from 'node:crypto';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { RefreshTokensRepository, type Rotation } from './refresh-tokens.repository';

// 256 random bits: a plain sha256 is enough to store them, nothing can be guessed or brute-forced from it.
function newToken(): string {
  return randomBytes(32).toString('base64url');
}

function hashOf(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * Opaque refresh tokens, stored hashed in the tenant's schema: a token is therefore only ever valid in the tenant
 * that issued it. Each use rotates it; presenting a rotated token again revokes its whole family.
 */
@Injectable()
export class RefreshTokens {
  constructor(
    private readonly tokens: RefreshTokensRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Starts a new family (a login). */
  async issue(userId: string): Promise<string> {
    const token = newToken();
    await this.tokens.create({ userId, tokenHash: hashOf(token), expiresAt: this.expiry() });
    return token;
  }

  async rotate(presented: string): Promise<{ token: string; outcome: Rotation }> {
    const token = newToken();
    const outcome = await this.tokens.rotate(hashOf(presented), { tokenHash: hashOf(token), expiresAt: this.expiry() }, new Date());
    return { token, outcome };
  }

  revokeFamilyOf(presented: string): Promise<{ userId: string; familyId: string } | null> {
    return this.tokens.revokeFamilyOf(hashOf(presented), new Date());
  }

  revokeAllOf(userId: string): Promise<number> {
    return this.tokens.revokeAllOf(userId, new Date());
  }

  private expiry(): Date {
    return new Date(Date.now() + this.config.jwt.refreshTtlSeconds * 1000);
  }
}
