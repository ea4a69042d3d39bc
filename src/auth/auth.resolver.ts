import { Args, Mutation, Resolver } from '@nestjs/graphql';
import { AuthService } from './auth.service';
import { LoginArgs } from './dto/login.args';
import { AuthPayload } from './models/auth-payload.model';
import { Public } from './public.decorator';

@Resolver()
export class AuthResolver {
  constructor(private readonly auth: AuthService) {}

  @Public()
  @Mutation(() => AuthPayload, { description: "Logs in to the request's tenant and returns an access token." })
  login(@Args() { email, password }: LoginArgs): Promise<AuthPayload> {
    return this.auth.login(email, password);
  }
}
