import type { KoaContextWithOIDC, Provider } from 'oidc-provider';
import { errors } from 'oidc-provider';
import { isAppError } from '../kernel/errors.ts';
import type { PasswordSignIn } from '../identity/password-sign-in.ts';
import { clientIpOf } from './client-ip.ts';
import { resolveScopes } from './scopes.ts';

/** 429 in the OAuth error format; RFC 6749 has no code for it, so we name it plainly. */
class TooManyAttempts extends errors.OIDCProviderError {
  constructor(description: string) {
    super(429, 'too_many_requests');
    Object.assign(this, { error_description: description });
  }
}

/**
 * Who a password grant signed in, on the request it answered: a door that calls the token
 * endpoint in process (Vault's /reg/auth/token names the user) reads it there instead of
 * looking the new access token up again. A symbol, so nothing a caller sends can set it.
 */
const SIGNED_IN_ACCOUNT = Symbol('idflow.signedInAccount');

export function signedInAccountOf(request: object): string | undefined {
  return (request as { [SIGNED_IN_ACCOUNT]?: string })[SIGNED_IN_ACCOUNT];
}

/**
 * The resource owner password grant (RFC 6749 §4.3). RFC 9700 forbids it for third
 * parties, so a client gets it only when its grant_types list it: first-party apps that
 * already sign people in this way (Vault's /reg/auth/token is this grant behind another door).
 */
export function registerPasswordGrant(provider: Provider, signIn: PasswordSignIn): void {
  provider.registerGrantType(
    'password',
    async (ctx: KoaContextWithOIDC) => {
      const client = ctx.oidc.client!;
      const params = ctx.oidc.params as { username?: string; password?: string; scope?: string };
      if (!params.username || !params.password) throw new errors.InvalidRequest('username and password are required');
      const scopes = resolveScopes(params.scope, client.scope);

      let user;
      try {
        user = await signIn.verify(params.username, params.password, clientIpOf(ctx), { via: 'password_grant', clientId: client.clientId });
      } catch (error) {
        if (isAppError(error) && error.code === 'too_many_requests') {
          ctx.set('Retry-After', String(error.retryAfter ?? 60));
          throw new TooManyAttempts(error.publicMessage);
        }
        if (isAppError(error) && error.code === 'invalid_credentials') throw new errors.InvalidGrant('invalid credentials provided');
        throw error;
      }

      const scope = scopes.join(' ');
      const grant = new provider.Grant({ accountId: user.id, clientId: client.clientId });
      if (scope) grant.addOIDCScope(scope);
      const grantId = await grant.save();

      const accessToken = new provider.AccessToken({ accountId: user.id, client, grantId, gty: 'password', scope });
      ctx.oidc.entity('AccessToken', accessToken);
      const accessTokenValue = await accessToken.save();

      let refreshTokenValue: string | undefined;
      if (client.grantTypeAllowed('refresh_token')) {
        const refreshToken = new provider.RefreshToken({
          accountId: user.id,
          client,
          grantId,
          gty: 'password',
          scope,
          rotations: 0,
          iiat: Math.floor(Date.now() / 1000),
          expiresWithSession: false,
        } as never);
        ctx.oidc.entity('RefreshToken', refreshToken);
        refreshTokenValue = await refreshToken.save();
      }

      (ctx.req as { [SIGNED_IN_ACCOUNT]?: string })[SIGNED_IN_ACCOUNT] = user.id;
      ctx.body = {
        access_token: accessTokenValue,
        token_type: 'Bearer',
        expires_in: accessToken.expiration,
        ...(refreshTokenValue ? { refresh_token: refreshTokenValue } : {}),
        scope,
      };
    },
    ['username', 'password', 'scope'],
  );
}
