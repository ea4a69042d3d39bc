import { Module } from '@nestjs/common';
import { RefreshTokensRepository } from './refresh-tokens.repository';
import { RefreshTokens } from './refresh-tokens.service';

/** Refresh tokens, apart from AuthModule so that UsersModule can revoke them without importing the guards. */
@Module({ providers: [RefreshTokensRepository, RefreshTokens], exports: [RefreshTokens] })
export class SessionsModule {}
