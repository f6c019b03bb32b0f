import type { OAuthEngine } from './engine.ts';
import type { OidcPayloadsRepo } from '../storage/oidc-payloads-repo.ts';
import type { Clock } from '../kernel/clock.ts';

export type RefreshTokenState =
  | { state: 'active'; clientId: string; accountId: string }
  | { state: 'expired'; expiredAt: Date }
  | { state: 'used'; clientId: string }
  | { state: 'unknown' };

/**
 * What a refresh token is, for doors that must answer differently for an expired token
 * (Vault's "The Token has expired on …") and that learn the client from the token itself.
 */
export async function refreshTokenState(payloads: OidcPayloadsRepo, clock: Clock, value: string): Promise<RefreshTokenState> {
  const row = await payloads.findIgnoringExpiry('RefreshToken', value);
  if (!row) return { state: 'unknown' };
  if (row.expires_at && row.expires_at <= clock.now()) return { state: 'expired', expiredAt: row.expires_at };
  const { clientId, accountId } = row.payload as { clientId?: string; accountId?: string };
  if (!clientId || !accountId) return { state: 'unknown' };
  if (row.consumed_at) return { state: 'used', clientId };
  return { state: 'active', clientId, accountId };
}

/** The account an access token was issued to, while it is valid. */
export async function accessTokenOwner(engine: OAuthEngine, value: string): Promise<string | undefined> {
  const token = await engine.provider.AccessToken.find(value);
  return token?.accountId;
}
