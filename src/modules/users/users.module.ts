import { Module } from '@nestjs/common';
import { SessionsModule } from '../../auth/sessions.module';
import { AuditModule } from '../audit/audit.module';
import { UserLoaderService } from './user-loader.service';
import { UsersRepository } from './users.repository';
import { UsersResolver } from './users.resolver';
import { UsersService } from './users.service';

@Module({
  imports: [SessionsModule, AuditModule],
  providers: [UsersRepository, UsersService, UsersResolver, UserLoaderService],
  exports: [UsersRepository, UserLoaderService],
})
export class UsersModule {}
