import Provider, { type Configuration } from 'oidc-provider';
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../kernel/clock.ts';
import { constantTimeEqual, hashSecret } from '../kernel/secrets.ts';
import type { PasswordSignIn } from '../identity/password-sign-in.ts';
import type { ClientsRepo } from '../storage/clients-repo.ts';
import type { OidcPayloadsRepo } from '../storage/oidc-payloads-repo.ts';
import type { SigningKeysRepo } from '../storage/signing-keys-repo.ts';
import type { UsersRepo } from '../storage/users-repo.ts';
import type { SecurityEvents } from '../telemetry/security-events.ts';
import { REUSE, adapterFactory } from './adapter.ts';
import { registerPasswordGrant } from './password-grant.ts';
import { answerAsTheRfcsSay, asTheRfcsName, unknownRoutesAsOAuthErrors } from './rfc-answers.ts';
import { urlsFromIssuer } from './issuer-urls.ts';
import { catalogueCodeOf, clientSiteOf, type OAuthPages } from './pages.ts';
import { isLoopbackUrl } from '../kernel/urls.ts';
import { registeredRedirect } from '../redirects/redirect-policy.ts';
import { SCOPE_CLAIMS, STANDARD_SCOPES } from './scopes.ts';
import { SIGNING_ALG } from './signing-keys.ts';
import { acceptVerifiedClaimsArrayForm } from './verified-claims-array-form.ts';
import { interactionPolicyWithVerification } from './verification-step.ts';
import { assertClaimsParameter, identityAssuranceDiscovery, verifiedClaimsOf, type IdentityAssuranceDeps } from './verified-claims.ts';

export interface OAuthEngineDeps {
  issuer: string;
  trustProxy: boolean;
  /** Development: a client's jwks_uri, redirect and post-logout URIs may be on this machine (http://localhost…). */
  allowInsecureLoopback?: boolean | undefined;
  accessTokenTtl: number;
  refreshTokenTtl: number;
  cookieKeys: Buffer[];
  clock: Clock;
  clients: ClientsRepo;
  users: UsersRepo;
  payloads: OidcPayloadsRepo;
  signingKeys: SigningKeysRepo;
  signIn: PasswordSignIn;
  logger: Logger;
  /** The pages the engine shows a person (errors, sign-out), from the hosted pages' layer. */
  pages: OAuthPages;
  /** Verified claims (OpenID Connect for Identity Assurance) from the wallet; none without it. */
  identityAssurance?: IdentityAssuranceDeps | undefined;
  /** Where tokens issued and codes or refresh tokens used twice are reported. */
  security?: SecurityEvents | undefined;
}

/** Paths of the OAuth/OIDC endpoints; discovery lists them, the HTTP layer mounts them. */
export const OAUTH_ROUTES = {
  authorization: '/oauth/authorize',
  token: '/oauth/token',
  userinfo: '/oauth/userinfo',
  jwks: '/oauth/jwks',
  introspection: '/oauth/introspect',
  revocation: '/oauth/revoke',
  end_session: '/oauth/logout',
  pushed_authorization_request: '/oauth/par',
} as const;

export const ID_TOKEN_TTL = 3600;
/** How long a sign-in session lasts (the same session serves every client and idflow's own pages). */
export const SESSION_TTL = 14 * 86400;
/** The engine's long-lived cookies: the session. */
export const SESSION_COOKIE = { signed: true, httpOnly: true, sameSite: 'lax' } as const;

/**
 * Owns the oidc-provider instance: the only module (with its siblings in src/oauth) that
 * touches the library. The provider is rebuilt when what it was built from changes (a
 * rotated signing key, a client with a new scope), so every node picks changes up without
 * a restart.
 */
export class OAuthEngine {
  #provider: Provider;
  #fingerprint: string;
  readonly #deps: OAuthEngineDeps;

  private constructor(deps: OAuthEngineDeps, provider: Provider, fingerprint: string) {
    this.#deps = deps;
    this.#provider = provider;
    this.#fingerprint = fingerprint;
  }

  static async create(deps: OAuthEngineDeps): Promise<OAuthEngine> {
    const inputs = await loadInputs(deps);
    return new OAuthEngine(deps, buildProvider(deps, inputs), inputs.fingerprint);
  }

  get provider(): Provider {
    return this.#provider;
  }

  /** Rebuilds the provider if keys or scopes changed since it was built; true when it did. */
  async reloadIfChanged(): Promise<boolean> {
    const inputs = await loadInputs(this.#deps);
    if (inputs.fingerprint === this.#fingerprint) return false;
    this.#provider = buildProvider(this.#deps, inputs);
    this.#fingerprint = inputs.fingerprint;
    this.#deps.logger.info({ event: 'oauth.reloaded' }, 'OAuth engine reloaded with new keys or scopes');
    return true;
  }
}

interface EngineInputs {
  jwks: { keys: Record<string, unknown>[] };
  scopes: string[];
  fingerprint: string;
}

async function loadInputs(deps: OAuthEngineDeps): Promise<EngineInputs> {
  const keys = await deps.signingKeys.published(deps.clock.now());
  const scopes = [...new Set([...STANDARD_SCOPES, ...(await deps.clients.allScopes())])];
  const fingerprint = createHash('sha256')
    .update(JSON.stringify([keys.map((k) => k.kid), scopes]))
    .digest('base64url');
  return { jwks: { keys: keys.map((k) => k.privateJwk) }, scopes, fingerprint };
}

function buildProvider(deps: OAuthEngineDeps, inputs: EngineInputs): Provider {
  const configuration: Configuration = {
    adapter: adapterFactory(deps.payloads, deps.clients, deps.clock) as never,
    jwks: inputs.jwks as never,
    routes: OAUTH_ROUTES,
    scopes: inputs.scopes,
    claims: SCOPE_CLAIMS,
    responseTypes: ['code'],
    clientDefaults: {
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: SIGNING_ALG,
    },
    enabledJWA: {
      idTokenSigningAlgValues: [SIGNING_ALG],
      userinfoSigningAlgValues: [SIGNING_ALG],
      introspectionSigningAlgValues: [SIGNING_ALG],
      authorizationSigningAlgValues: [SIGNING_ALG],
      // Ed25519 is EdDSA's fully-specified name (RFC 9864), which current clients sign with.
      requestObjectSigningAlgValues: [SIGNING_ALG, 'Ed25519', 'EdDSA', 'RS256', 'PS256'],
      clientAuthSigningAlgValues: [SIGNING_ALG, 'Ed25519', 'EdDSA', 'RS256', 'PS256'],
    },
    fetch: (url, options) => {
      // The engine fetches clients' jwks_uri refusing special-use addresses (SSRF); in
      // development a client running on this machine may serve its keys on loopback.
      if (deps.allowInsecureLoopback && !(url instanceof Request) && isLoopbackUrl(url)) delete (options as { dispatcher?: unknown }).dispatcher;
      return fetch(url, options);
    },
    extraClientMetadata: { properties: ['access_token_ttl', 'introspection_allowed', 'verification_step'] },
    cookies: {
      keys: deps.cookieKeys.map((k) => k.toString('base64url')),
      long: SESSION_COOKIE,
      short: { signed: true, httpOnly: true, sameSite: 'lax' },
    },
    discovery: { claim_types_supported: ['normal'], ...(deps.identityAssurance ? identityAssuranceDiscovery(deps.identityAssurance.trustFrameworks) : {}) },
    features: {
      devInteractions: { enabled: false },
      claimsParameter: { enabled: true, assertClaimsParameter: async (_ctx, claims, client) => assertClaimsParameter(claims as Record<string, unknown>, client.scope) },
      clientCredentials: { enabled: true },
      introspection: {
        enabled: true,
        // A client may introspect its own tokens; other tokens only a client registered as a
        // resource server (introspection_allowed), so one operator cannot read another's.
        allowedPolicy: async (_ctx, client, token) =>
          token.clientId === client.clientId || (client as unknown as { introspection_allowed?: boolean }).introspection_allowed === true,
      },
      revocation: {
        enabled: true,
        allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId,
      },
      userinfo: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx, form) => {
          // The form leads, through the engine, to the post_logout_redirect_uri (already checked against the client's).
          allowFormDestination(deps.pages, ctx, ctx.oidc.params?.post_logout_redirect_uri);
          ctx.body = deps.pages.logout(form);
        },
        postLogoutSuccessSource: async (ctx) => {
          ctx.body = deps.pages.signedOut();
        },
      },
    },
    pkce: {
      // Required for public clients (they have no secret); confidential clients may still use it.
      required: (_ctx, client) => client.clientAuthMethod === 'none',
    },
    rotateRefreshToken: true,
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    ttl: {
      AccessToken: (_ctx, _token, client) => Number((client as unknown as { access_token_ttl?: number }).access_token_ttl) || deps.accessTokenTtl,
      ClientCredentials: (_ctx, _token, client) => Number((client as unknown as { access_token_ttl?: number }).access_token_ttl) || deps.accessTokenTtl,
      AuthorizationCode: 60,
      IdToken: ID_TOKEN_TTL,
      Interaction: 3600,
      Session: SESSION_TTL,
      Grant: deps.refreshTokenTtl,
      RefreshToken: deps.refreshTokenTtl,
    },
    interactions: {
      policy: interactionPolicyWithVerification({ identityAssurance: deps.identityAssurance, clock: deps.clock }),
      url: (_ctx, interaction) => `/interaction/${interaction.uid}`,
    },
    findAccount: async (_ctx, sub) => {
      const user = await deps.users.findById(sub);
      if (!user) return undefined;
      return {
        accountId: user.id,
        claims: async (_use, scope, claims, rejected) => ({
          sub: user.id,
          ...(user.email ? { email: user.email, email_verified: false } : {}),
          ...(user.phone ? { phone_number: user.phone, phone_number_verified: false } : {}),
          ...(await verifiedClaimsOf(deps.identityAssurance, user.id, scope, claims, rejected, deps.clock.now())),
        }),
      };
    },
    clientBasedCORS: (ctx, origin, client) => {
      // Browsers may call the token and userinfo endpoints only from a public client's own origins.
      if (client.clientAuthMethod !== 'none' && ctx.oidc.route !== 'userinfo') return false;
      return (client.redirectUris ?? []).some((uri) => URL.parse(uri)?.origin === origin);
    },
    // An error the engine cannot send back to the client (no client, no checked redirect URI):
    // a worded page for the person, with the status kept and the developer's text left out.
    renderError: async (ctx, raw) => {
      const error = String(asTheRfcsName(raw).error ?? 'server_error');
      const client = ctx.oidc?.client;
      const site = clientSiteOf(client?.redirectUris, ctx.oidc?.params?.redirect_uri);
      const name = client?.clientName ?? client?.clientId;
      ctx.type = 'html';
      ctx.body = deps.pages.error(
        { code: catalogueCodeOf(error, ctx.status), reference: error, context: name, back: site ? { href: site, text: `Back to ${name}` } : undefined },
        ctx.status,
      );
    },
  };

  const provider = new Provider(deps.issuer, configuration);
  provider.proxy = deps.trustProxy;

  // Client secrets are stored hashed: hash what the client presents, then compare.
  provider.Client.prototype.compareClientSecret = function compareClientSecret(this: { clientSecret?: string }, actual: string) {
    return Promise.resolve(Boolean(this.clientSecret) && constantTimeEqual(hashSecret(actual), this.clientSecret!));
  } as never;

  // Redirect and post-logout URIs are checked by the platform's one redirect policy, not
  // the library's exact match; a native app's loopback redirect keeps its any-port freedom.
  type ProviderClient = { redirectUris: string[]; postLogoutRedirectUris: string[]; applicationType: string };
  const rules = (client: ProviderClient) => ({ allowInsecureLoopback: deps.allowInsecureLoopback ?? false, anyLoopbackPort: client.applicationType === 'native' });
  provider.Client.prototype.redirectUriAllowed = function redirectUriAllowed(this: ProviderClient, value: unknown) {
    return typeof value === 'string' && registeredRedirect(value, this.redirectUris, rules(this)).ok;
  } as never;
  provider.Client.prototype.postLogoutRedirectUriAllowed = function postLogoutRedirectUriAllowed(this: ProviderClient, value: unknown) {
    return typeof value === 'string' && registeredRedirect(value, this.postLogoutRedirectUris, rules(this)).ok;
  } as never;

  urlsFromIssuer(provider);
  answerAsTheRfcsSay(provider);
  acceptVerifiedClaimsArrayForm(provider);
  unknownRoutesAsOAuthErrors(provider);
  registerPasswordGrant(provider, deps.signIn);

  // A form_post answer is a page whose form goes to the client's redirect_uri, once the engine has checked it.
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.oidc?.redirectUriCheckPerformed && ctx.response.is('html')) allowFormDestination(deps.pages, ctx, ctx.oidc.params?.redirect_uri);
  });

  provider.on('server_error', (_ctx, error) => deps.logger.error({ err: { name: error.name, message: error.message } }, 'oauth server error'));
  provider.on('grant.revoked', (_ctx, grantId) => deps.logger.info({ event: 'grant.revoked', grantId }, 'grant revoked'));
  provider.on('grant.success', (ctx) => deps.security?.metrics.tokensIssued.inc({ grant_type: String(ctx.oidc.params?.grant_type) }));
  // Reuse, whether the engine saw the code or refresh token used already or the adapter lost
  // the race to use it (adapter.ts): the grant is revoked either way.
  provider.on('grant.error', (ctx, error) => {
    const detail = (error as { error_detail?: string }).error_detail;
    const kind = Object.values(REUSE).find((reuse) => reuse.detail === detail)?.kind;
    if (kind) void deps.security?.reuseDetected({ kind, clientId: ctx.oidc?.client?.clientId });
  });
  return provider;
}

/** Lets the page being answered send its form on to `url` as well (the pages' security policy says how). */
function allowFormDestination(pages: OAuthPages, ctx: { response: { get(name: string): string }; set(name: string, value: string): void }, url: unknown): void {
  const csp = ctx.response.get('content-security-policy');
  if (csp && typeof url === 'string') ctx.set('content-security-policy', pages.withFormDestinations(csp, [url]));
}
