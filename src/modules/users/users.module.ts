import { Module } from '@nestjs/common';
import { SessionsModule } from '../../auth/sessions.module';
import { AuditModule } from '../audit/audit.module';
import { UsersRepository } from './users.repository';
import { UsersResolver } from './users.resolver';
import { UsersService } from './users.service';

@Module({
  imports: [SessionsModule, AuditModule],
  providers: [UsersRepository, UsersService, UsersResolver],
  exports: [UsersRepository],
})
export class UsersModule {}
