import { registeredRedirect, registeredSite } from '../redirects/redirect-policy.ts';
import type { ClientRecord } from '../storage/clients-repo.ts';
import { webKycSettings, type WebKycSettings } from './web-kyc-settings.ts';

/**
 * Checking an authorization request (`GET /authorize?response_type=code&client_id&redirect_uri
 * &scope=kyc&state[&back_url]`) the way RFC 6749 §4.1.2.1 orders it: until the client and its
 * redirect URI are known to be right, an error is shown to the person and NEVER sent to the
 * redirect URI (that would make idflow an open redirector); after that, errors go back to the
 * client as `?error=…&state=…`.
 */
export type AuthorizeCheck =
  | { kind: 'fatal'; reason: FatalReason }
  | { kind: 'redirect_error'; redirectUri: string; state: string | undefined; error: OAuthErrorCode; description: string }
  | { kind: 'ok'; client: ClientRecord; settings: WebKycSettings; request: ValidRequest };

export type FatalReason = 'missing_client_id' | 'unknown_client' | 'missing_redirect_uri' | 'redirect_uri_not_registered' | 'redirect_uri_not_secure';
export type OAuthErrorCode = 'invalid_request' | 'unsupported_response_type' | 'invalid_scope' | 'unauthorized_client' | 'access_denied' | 'server_error';

export interface ValidRequest {
  redirectUri: string;
  state: string;
  backUrl: string | undefined;
}

/** The one scope Web KYC has; also the default when a request names none (RFC 6749 §3.3). */
export const WEB_KYC_SCOPE = 'kyc';

// RFC 6749 Appendix A.5: state is VSCHAR (printable ASCII).
const VSCHAR = /^[\x20-\x7E]+$/;
const LIMITS = { client_id: 128, redirect_uri: 2048, state: 1024, back_url: 2048, scope: 256, response_type: 64 };

type Query = Record<string, unknown>;

/** One value of a parameter; `repeated` when the query had it more than once (RFC 6749 §3.1). */
function single(query: Query, name: string): { value: string | undefined; repeated: boolean } {
  const raw = query[name];
  if (Array.isArray(raw)) return { value: undefined, repeated: true };
  return { value: typeof raw === 'string' && raw !== '' ? raw : undefined, repeated: false };
}

export async function checkAuthorizeRequest(
  query: Query,
  findClient: (clientId: string) => Promise<ClientRecord | undefined>,
  options: { allowInsecureLoopback: boolean },
): Promise<AuthorizeCheck> {
  const clientId = single(query, 'client_id');
  if (clientId.repeated || !clientId.value || clientId.value.length > LIMITS.client_id) return { kind: 'fatal', reason: 'missing_client_id' };
  const client = await findClient(clientId.value);
  if (!client) return { kind: 'fatal', reason: 'unknown_client' };

  const redirect = single(query, 'redirect_uri');
  if (redirect.repeated || !redirect.value) return { kind: 'fatal', reason: 'missing_redirect_uri' };
  const registered = redirect.value.length > LIMITS.redirect_uri ? undefined : registeredRedirect(redirect.value, client.metadata.redirect_uris, { ...options, webOnly: true });
  if (!registered?.ok) return { kind: 'fatal', reason: registered?.refused === 'not_secure' ? 'redirect_uri_not_secure' : 'redirect_uri_not_registered' };
  const redirectUri = registered.url;

  const state = single(query, 'state');
  const stateValue = state.value && state.value.length <= LIMITS.state && VSCHAR.test(state.value) ? state.value : undefined;
  const fail = (error: OAuthErrorCode, description: string): AuthorizeCheck => ({ kind: 'redirect_error', redirectUri, state: stateValue, error, description });

  if (state.repeated) return fail('invalid_request', 'state must not be repeated');
  if (!state.value) return fail('invalid_request', 'state is required');
  if (!stateValue) return fail('invalid_request', `state must be 1-${LIMITS.state} printable ASCII characters`);

  const responseType = single(query, 'response_type');
  if (responseType.repeated) return fail('invalid_request', 'response_type must not be repeated');
  if (!responseType.value) return fail('invalid_request', 'response_type is required');
  if (responseType.value !== 'code') return fail('unsupported_response_type', 'only response_type=code is supported');

  const scope = single(query, 'scope');
  if (scope.repeated) return fail('invalid_request', 'scope must not be repeated');
  if (scope.value !== undefined && scope.value.trim() !== WEB_KYC_SCOPE) return fail('invalid_scope', `the only supported scope is ${WEB_KYC_SCOPE}`);

  // `back_url` is the documented name; the seed's own button example spells it `back`.
  const back = single(query, query.back_url !== undefined ? 'back_url' : 'back');
  if (back.repeated) return fail('invalid_request', 'back_url must not be repeated');
  const backSite = back.value === undefined || back.value.length > LIMITS.back_url ? undefined : registeredSite(back.value, client.metadata.redirect_uris, options);
  if (back.value !== undefined && !backSite?.ok) {
    if (backSite?.refused === 'not_registered') return fail('invalid_request', "back_url must be on one of the client's registered origins");
    return fail('invalid_request', 'back_url must be an absolute https URL');
  }

  const settings = webKycSettings(client);
  if (!settings) return fail('unauthorized_client', 'this client is not enabled for Web KYC');
  return { kind: 'ok', client, settings, request: { redirectUri, state: stateValue, backUrl: back.value } };
}

/** The redirect URI with the given parameters added to whatever query it already has. */
export function redirectWith(redirectUri: string, params: Record<string, string | undefined>): string {
  const url = new URL(redirectUri);
  for (const [name, value] of Object.entries(params)) if (value !== undefined) url.searchParams.append(name, value);
  return url.href;
}
