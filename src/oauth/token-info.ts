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

/** An opaque token as the engine issues them (base64url); anything else is not looked up. */
const OPAQUE_TOKEN = /^[A-Za-z0-9_-]{16,256}$/;

/**
 * The client a client-credentials access token was issued to and the scopes it holds now:
 * while the token is valid and its client still exists, and only scopes the client is
 * still registered with (a scope taken from a client stops working at once).
 */
export async function clientCredentialsGrant(engine: OAuthEngine, value: string): Promise<{ clientId: string; scopes: string[] } | undefined> {
  if (!OPAQUE_TOKEN.test(value)) return undefined;
  const token = await engine.provider.ClientCredentials.find(value);
  const clientId = token?.clientId;
  if (!token || token.isExpired || !clientId) return undefined;
  const client = await engine.provider.Client.find(clientId);
  if (!client) return undefined;
  const registered = new Set((client.scope ?? '').split(' '));
  return { clientId, scopes: (token.scope ?? '').split(' ').filter((s) => s && registered.has(s)) };
}
