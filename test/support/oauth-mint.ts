import type { TestPlatform } from './platform.ts';

/**
 * Grants, refresh tokens and authorization codes minted by the platform's own OAuth engine,
 * through its models and storage adapter, exactly as its grant handlers write them: what a
 * sign-in and a consent would leave behind, without an argon2 hash or four page loads per
 * token (tests that need hundreds of them).
 */
export async function mintGrant(platform: TestPlatform, clientId: string, accountId: string, scope: string) {
  const provider = platform.services.oauth.provider;
  const client = (await provider.Client.find(clientId))!;
  const grant = new provider.Grant({ accountId, clientId });
  grant.addOIDCScope(scope);
  const grantId = await grant.save();
  const authTime = Math.floor(Date.now() / 1000);
  return {
    grantId,
    async refreshToken(): Promise<string> {
      const token = new provider.RefreshToken({ accountId, client, grantId, scope, gty: 'authorization_code', authTime, rotations: 0, iiat: authTime } as never);
      return token.save();
    },
    async authorizationCode(redirectUri: string, codeChallenge: string): Promise<string> {
      const code = new provider.AuthorizationCode({ accountId, client, grantId, scope, redirectUri, codeChallenge, codeChallengeMethod: 'S256', authTime } as never);
      return code.save();
    },
  };
}
