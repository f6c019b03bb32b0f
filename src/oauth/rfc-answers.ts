import type Provider from 'oidc-provider';

/** What oidc-provider says when a client asks for a grant it did not register. */
const NOT_REGISTERED = new Set(['requested grant type is not allowed for this client', 'requested response_type is not allowed for this client']);

interface ErrorOut {
  error?: unknown;
  error_description?: unknown;
}

/**
 * RFC 6749 §4.1.2.1 and §5.2: a client asking for a grant it may not use is
 * `unauthorized_client`, not `invalid_request` (the request itself is well formed).
 */
export function asTheRfcsName<T extends ErrorOut>(out: T): T {
  return out.error === 'invalid_request' && NOT_REGISTERED.has(String(out.error_description)) ? { ...out, error: 'unauthorized_client' } : out;
}

/**
 * Where oidc-provider's JSON answers depart from the RFCs clients are written against. Both
 * are decided after the client authenticated, so only the answer changes, never who gets one:
 * the error code above, and RFC 7662 §2.2's `{"active": false}` for a token the server will
 * not introspect (an ID token, any JWT) instead of an `unsupported_token_type` error.
 */
export function answerAsTheRfcsSay(provider: Provider): void {
  provider.use(async (ctx, next) => {
    await next();
    const body = ctx.body as ErrorOut | undefined;
    if (!body || typeof body !== 'object' || typeof body.error !== 'string') return;
    if (ctx.oidc?.route === 'introspection' && body.error === 'unsupported_token_type') {
      ctx.status = 200;
      ctx.body = { active: false };
      return;
    }
    ctx.body = asTheRfcsName(body);
  });
}

/**
 * A path under the engine's mount it does not serve, or a method an endpoint does not take,
 * is answered as an OAuth error like every other, not with Koa's plain-text "Not Found".
 * The path is not echoed.
 */
export function unknownRoutesAsOAuthErrors(provider: Provider): void {
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.status !== 404 || ctx.body !== undefined) return;
    ctx.body = { error: 'invalid_request', error_description: 'unrecognized route or not allowed method' };
    ctx.status = 404;
  });
}
