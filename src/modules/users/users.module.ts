import { Module } from '@nestjs/common';
import { UserLoaderService } from './user-loader.service';
import { UsersRepository } from './users.repository';
import { UsersResolver } from './users.resolver';
import { UsersService } from './users.service';

@Module({
  providers: [UsersRepository, UsersService, UsersResolver, UserLoaderService],
  exports: [UsersRepository, UserLoaderService],
})
export class UsersModule {}
