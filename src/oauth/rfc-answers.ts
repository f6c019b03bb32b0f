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
