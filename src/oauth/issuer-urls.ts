import type Provider from 'oidc-provider';

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
  // Whatever else asks the request where it was sent learns the issuer's origin too; so the
  // engine's cookies are Secure exactly when the issuer is https, behind a proxy that ends
  // TLS as much as without one, whatever X-Forwarded-Proto says.
  const issuer = new URL(provider.issuer);
  Object.defineProperties(provider.request, {
    protocol: { get: () => issuer.protocol.slice(0, -1) },
    host: { get: () => issuer.host },
  });
}
