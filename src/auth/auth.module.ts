import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { JwtModule } from '@nestjs/jwt';
import { AuditModule } from '../modules/audit/audit.module';
import { UsersModule } from '../modules/users/users.module';
import { TenantGuard } from '../tenancy/tenant.guard';
import { AccessTokens } from './access-tokens.service';
import { AuthResolver } from './auth.resolver';
import { AuthService } from './auth.service';
import { JwtAuthGuard } from './jwt-auth.guard';
import { JwtKeys } from './jwt-keys.service';
import { LoginThrottle } from './login-throttle.service';
import { SessionsModule } from './sessions.module';

@Module({
  // Keys are passed per call by AccessTokens (JwtKeys picks them by `kid`).
  imports: [UsersModule, SessionsModule, AuditModule, JwtModule.register({})],
  providers: [
    JwtKeys,
    AccessTokens,
    LoginThrottle,
    AuthService,
    AuthResolver,
    // Order matters: authenticate first, then compare the token's tenant with the request's.
    { provide: APP_GUARD, useClass: JwtAuthGuard },
    { provide: APP_GUARD, useClass: TenantGuard },
  ],
})
export class AuthModule {}
