import type Provider from 'oidc-provider';

/** What oidc-provider says when a client asks for a grant type it did not register. */
const GRANT_TYPE_NOT_ALLOWED = 'requested grant type is not allowed for this client';

/**
 * Where oidc-provider's answers depart from the RFCs clients are written against. Both are
 * decided after the client authenticated, so only the answer changes, never who gets one.
 *
 * - RFC 6749 §5.2: a grant type the client may not use is `unauthorized_client`, not
 *   `invalid_request` (the request itself is well formed).
 * - RFC 7662 §2.2: a token the server will not introspect (an ID token, any JWT) is
 *   `{"active": false}`, not an `unsupported_token_type` error.
 */
export function answerAsTheRfcsSay(provider: Provider): void {
  provider.use(async (ctx, next) => {
    await next();
    const body = ctx.body as { error?: unknown; error_description?: unknown } | undefined;
    if (!body || typeof body !== 'object' || typeof body.error !== 'string') return;
    const route = ctx.oidc?.route;
    if (route === 'token' && body.error === 'invalid_request' && body.error_description === GRANT_TYPE_NOT_ALLOWED) {
      ctx.body = { error: 'unauthorized_client', error_description: GRANT_TYPE_NOT_ALLOWED };
    } else if (route === 'introspection' && body.error === 'unsupported_token_type') {
      ctx.status = 200;
      ctx.body = { active: false };
    }
  });
}

/**
 * Every absolute URL the engine writes (discovery, the logout form's action, the way back to
 * the authorization endpoint after the hosted pages, the DPoP `htu` and client assertion
 * audiences it expects) is built from the issuer. The library builds them from the request's
 * Host or X-Forwarded-Host, which the caller writes: behind a shared cache, one request with
 * a forged Host would hand everyone a discovery document pointing elsewhere.
 */
export function urlsFromIssuer(provider: Provider): void {
  provider.OIDCContext.prototype.urlFor = function urlFor(name: string, options?: Record<string, unknown>) {
    return provider.urlFor(name, options);
  };
}
