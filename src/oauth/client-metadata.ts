import type { ClientRecord } from '../storage/clients-repo.ts';
import { usesSecret } from './client-authentication.ts';

/** Grant types idflow understands; `password` only for first-party clients that opt in. */
export const GRANT_TYPES = ['authorization_code', 'refresh_token', 'client_credentials', 'password'] as const;
export type GrantType = (typeof GRANT_TYPES)[number];

/**
 * A client as oidc-provider sees it. The secret it holds is the stored hash; the engine's
 * secret comparison is replaced to hash what a client presents (src/oauth/engine.ts).
 */
export function toProviderMetadata(client: ClientRecord): Record<string, unknown> {
  const m = client.metadata;
  const grantTypes = m.grant_types;
  // Private-use URI schemes (com.example.app:/cb) are for native apps (RFC 8252).
  const native = m.redirect_uris.some((uri) => !/^https?:/.test(uri));
  return {
    client_id: client.clientId,
    application_type: native ? 'native' : 'web',
    client_name: client.name,
    // A secret left from an earlier method is never a way in.
    ...(usesSecret(m.token_endpoint_auth_method) ? { client_secret: client.secretHash } : {}),
    token_endpoint_auth_method: m.token_endpoint_auth_method,
    ...(m.jwks ? { jwks: m.jwks } : {}),
    ...(m.jwks_uri ? { jwks_uri: m.jwks_uri } : {}),
    grant_types: grantTypes,
    response_types: grantTypes.includes('authorization_code') ? ['code'] : [],
    redirect_uris: m.redirect_uris,
    post_logout_redirect_uris: m.post_logout_redirect_uris,
    scope: m.scope,
    ...(m.access_token_ttl ? { access_token_ttl: m.access_token_ttl } : {}),
    ...(m.introspection_allowed ? { introspection_allowed: true } : {}),
    ...(m.verification_step ? { verification_step: true } : {}),
  };
}
