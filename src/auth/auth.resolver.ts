import { Args, Mutation, Resolver } from '@nestjs/graphql';
import { AuthService } from './auth.service';
import { ClientAddress } from './client-address.decorator';
import { LoginArgs } from './dto/login.args';
import { LogoutArgs } from './dto/logout.args';
import { RefreshTokenArgs } from './dto/refresh-token.args';
import { AuthPayload } from './models/auth-payload.model';
import { Public } from './public.decorator';

@Resolver()
export class AuthResolver {
  constructor(private readonly auth: AuthService) {}

  @Public()
  @Mutation(() => AuthPayload, {
    description: "Logs in to the request's tenant. Repeated failures from one address for one account are refused for a while.",
  })
  login(@Args() { email, password }: LoginArgs, @ClientAddress() address: string): Promise<AuthPayload> {
    return this.auth.login(email, password, address);
  }

  @Public()
  @Mutation(() => AuthPayload, { description: 'Exchanges a refresh token for a new access token and a new refresh token.' })
  refreshToken(@Args() { token }: RefreshTokenArgs): Promise<AuthPayload> {
    return this.auth.refresh(token);
  }

  @Public()
  @Mutation(() => Boolean, { description: 'Ends the session the refresh token belongs to: none of its refresh tokens work any more.' })
  logout(@Args() { refreshToken }: LogoutArgs): Promise<boolean> {
    return this.auth.logout(refreshToken);
  }
}
