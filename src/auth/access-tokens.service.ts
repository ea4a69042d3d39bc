import { Inject, Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { LRUCache } from 'lru-cache';
import type { KeyObject } from 'node:crypto';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { isUuid } from '../graphql/pagination';
import type { AuthenticatedUser } from '../tenancy/tenant-context';
import { JwtKeys } from './jwt-keys.service';

export interface AccessTokenClaims {
  sub: string;
  tid: string;
  role: AuthenticatedUser['role'];
  exp: number;
}

// Tokens verified once, so a busy client's token is not decoded and HMAC-checked again on every request.
const VERIFIED_TOKENS = 10_000;

/** Issues and verifies access tokens: HS256 with a `kid`, and `iss`, `aud`, `exp`, `sub`, `tid` and `role` all required. */
@Injectable()
export class AccessTokens {
  private readonly verified = new LRUCache<string, { claims: AccessTokenClaims; kid: unknown; key: KeyObject }>({ max: VERIFIED_TOKENS });

  constructor(
    private readonly jwt: JwtService,
    private readonly keys: JwtKeys,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async issue(claims: Omit<AccessTokenClaims, 'exp'>): Promise<{ accessToken: string; expiresAt: Date }> {
    const { kid, key } = this.keys.signing;
    const accessToken = await this.jwt.signAsync(claims, {
      algorithm: 'HS256',
      keyid: kid,
      secret: key as unknown as string,
      issuer: this.config.jwt.issuer,
      audience: this.config.jwt.audience,
      expiresIn: this.config.jwt.accessTtlSeconds,
    });
    const { exp } = this.jwt.decode<{ exp: number }>(accessToken);
    return { accessToken, expiresAt: new Date(exp * 1000) };
  }

  /** The claims of a genuine, current token, or undefined for anything else (forged, expired, incomplete). */
  async verify(token: string): Promise<AccessTokenClaims | undefined> {
    // A token verified before is taken as it is only while unexpired and while the key it verified with still
    // verifies (a key rotated out stops its tokens at once): what verifying it again would conclude.
    const known = this.verified.get(token);
    if (known && Math.floor(Date.now() / 1000) < known.claims.exp && this.keys.verifying(known.kid) === known.key) return known.claims;
    if (known) this.verified.delete(token);
    const header = (this.jwt.decode(token, { complete: true }) as { header?: { kid?: unknown } } | null)?.header;
    const key = this.keys.verifying(header?.kid);
    if (!key) return undefined;
    const claims = await this.jwt
      .verifyAsync<Partial<AccessTokenClaims>>(token, {
        algorithms: ['HS256'],
        secret: key as unknown as string,
        issuer: this.config.jwt.issuer,
        audience: this.config.jwt.audience,
      })
      .catch(() => undefined);
    if (
      !claims ||
      typeof claims.exp !== 'number' ||
      typeof claims.sub !== 'string' ||
      !isUuid(claims.sub) ||
      typeof claims.tid !== 'string' ||
      (claims.role !== 'ADMIN' && claims.role !== 'MEMBER')
    ) {
      return undefined;
    }
    this.verified.set(token, { claims: claims as AccessTokenClaims, kid: header?.kid, key });
    return claims as AccessTokenClaims;
  }
}
