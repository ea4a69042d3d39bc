import { Inject, Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { AppError, ErrorCode } from '../graphql/app-error';
import { UsersRepository } from '../modules/users/users.repository';
import { TenantContext } from '../tenancy/tenant-context';
import type { AccessTokenClaims } from './jwt-auth.guard';
import type { AuthPayload } from './models/auth-payload.model';
import { verifyPassword } from './password.util';

@Injectable()
export class AuthService {
  constructor(
    private readonly users: UsersRepository,
    private readonly jwt: JwtService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Logs in to the request's tenant. Unknown email, wrong password and a deactivated user fail alike. */
  async login(email: string, password: string): Promise<AuthPayload> {
    const user = await this.users.getByEmailWithHash(email.trim().toLowerCase());
    const valid = await verifyPassword(user?.passwordHash, password);
    // A deactivated user fails exactly like a wrong password.
    if (!user || !valid || user.status !== 'ACTIVE') throw new AppError(ErrorCode.UNAUTHENTICATED, 'Invalid email or password');
    const claims: Omit<AccessTokenClaims, 'exp'> = { sub: user.id, tid: TenantContext.require().tenant.id, role: user.role };
    const accessToken = await this.jwt.signAsync(claims, {
      algorithm: 'HS256',
      issuer: this.config.jwt.issuer,
      audience: this.config.jwt.audience,
      expiresIn: this.config.jwt.accessTtlSeconds,
    });
    const { passwordHash: _hash, ...publicUser } = user;
    return { accessToken, user: publicUser };
  }
}
