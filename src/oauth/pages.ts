import type { ErrorCode } from '../kernel/errors.ts';

/**
 * The pages the engine shows a person itself (an error it cannot send back to the client,
 * the sign-out question and its answer), drawn by the hosted pages' layer and handed to
 * the engine when it is built: the engine decides what happened, the pages how it looks.
 */
export interface OAuthPages {
  /** An OAuth error for a person: `code` chooses the words, `reference` is the wire code. */
  error(view: { code: ErrorCode; reference: string; context?: string | undefined; back?: { href: string; text: string } | undefined }, status: number): string;
  /** "Do you want to sign out?", around the engine's own form (its id is `op.logoutForm`). */
  logout(form: string): string;
  signedOut(): string;
  /** `csp` whose form-action also admits `destinations` (a page whose form leads on to a client). */
  withFormDestinations(csp: string, destinations: ReadonlyArray<string | undefined>): string;
}

/** OAuth's error codes (RFC 6749, OpenID Connect, RFC 9126) as the one catalogue names what happened. */
const AS_CATALOGUE: Readonly<Record<string, ErrorCode>> = {
  invalid_client: 'invalid_client',
  invalid_redirect_uri: 'invalid_redirect_uri',
  unauthorized_client: 'unauthorized_client',
  access_denied: 'declined',
  server_error: 'internal',
  temporarily_unavailable: 'unavailable',
  login_required: 'unauthenticated',
  invalid_request: 'validation_failed',
  invalid_request_uri: 'validation_failed',
  invalid_request_object: 'validation_failed',
  invalid_scope: 'validation_failed',
  unsupported_response_type: 'validation_failed',
  unsupported_response_mode: 'validation_failed',
  request_not_supported: 'validation_failed',
  request_uri_not_supported: 'validation_failed',
};

export function catalogueCodeOf(oauthError: string, status: number): ErrorCode {
  return AS_CATALOGUE[oauthError] ?? (status >= 500 ? 'internal' : status === 404 ? 'not_found' : 'validation_failed');
}

/**
 * The way back to a client's site from an error page: the origin of the redirect URI the
 * request named when that origin is one of the client's registered ones, else of its
 * first registered web redirect URI; none for a client without a web address (a native
 * app's private-use scheme), or no client at all.
 */
export function clientSiteOf(registered: readonly string[] | undefined, requested: unknown): string | undefined {
  const origins = (registered ?? []).map(webOrigin).filter((o) => o !== undefined);
  const wanted = typeof requested === 'string' ? webOrigin(requested) : undefined;
  const origin = wanted && origins.includes(wanted) ? wanted : origins[0];
  return origin ? `${origin}/` : undefined;
}

function webOrigin(url: string): string | undefined {
  const parsed = URL.parse(url);
  return parsed && (parsed.protocol === 'https:' || parsed.protocol === 'http:') && !parsed.username && !parsed.password ? parsed.origin : undefined;
}
