import { AppError, type FieldProblem } from '../kernel/errors.ts';
import { randomToken } from '../kernel/ids.ts';
import { hashSecret } from '../kernel/secrets.ts';
import type { ClientMetadata, ClientRecord, ClientsRepo } from '../storage/clients-repo.ts';
import { GRANT_TYPES, type GrantType } from '../oauth/client-metadata.ts';
import { webKycProblems, type WebKycSettings } from '../kyc/web-kyc-settings.ts';
import { brandInputOf, brandOf, validateBrand, type OneClickBrandInput } from '../one-click/brand.ts';
import { usesSecret, validateClientAuthentication } from '../oauth/client-authentication.ts';
import { redirectUriProblem, webUrlProblem, type RedirectRules } from '../redirects/redirect-policy.ts';

export interface ClientInput {
  clientId?: string | undefined;
  name: string;
  redirectUris?: string[] | undefined;
  postLogoutRedirectUris?: string[] | undefined;
  grantTypes?: string[] | undefined;
  scope?: string | undefined;
  public?: boolean | undefined;
  /** client_secret_basic (the default), client_secret_post, private_key_jwt or none (= public). */
  tokenEndpointAuthMethod?: string | undefined;
  /** The client's public keys for private_key_jwt, as a JWK Set; or where it publishes them. */
  jwks?: unknown;
  jwksUri?: string | undefined;
  /** Only for import files that pin a secret; otherwise one is generated. */
  secret?: string | undefined;
  accessTokenTtl?: number | undefined;
  /** A resource server that may introspect tokens issued to other clients. */
  introspect?: boolean | undefined;
  /**
   * When it asks for verified claims the person does not hold, sign-in includes a
   * verification of their identity before consent (src/oauth/verification-step.ts).
   */
  verificationStep?: boolean | undefined;
  /** 1-Click brand settings (integration type, environment, …). */
  oneClick?: OneClickBrandInput | undefined;
  /** Web KYC (Authenteq-compatible): whether the client may use it, with which provider. */
  webKyc?: WebKycSettings | undefined;
}

/**
 * A change to a client: a field left out keeps its value, `null` removes it (back to its
 * default). 1-Click settings change field by field the same way.
 */
export type ClientChanges = {
  [K in Exclude<keyof ClientInput, 'clientId' | 'oneClick'>]?: ClientInput[K] | null;
} & { oneClick?: { [K in keyof OneClickBrandInput]?: OneClickBrandInput[K] | null } | null | undefined };

export interface CreatedClient {
  client: ClientRecord;
  /** Shown once; only its hash is stored. Undefined when no new secret was made or given (or the client authenticates without one). */
  secret: string | undefined;
}

const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/; // RFC 6749 §3.3 scope-token
const CLIENT_ID = /^[A-Za-z0-9._~-]{3,128}$/;

/**
 * The metadata keys this service writes from a client's input. On a change they are written
 * afresh (so a removed field goes away); any other key is kept as it was.
 */
const MANAGED_METADATA = [
  'one_click',
  'web_kyc',
  'redirect_uris',
  'post_logout_redirect_uris',
  'grant_types',
  'scope',
  'token_endpoint_auth_method',
  'jwks',
  'jwks_uri',
  'access_token_ttl',
  'introspection_allowed',
  'verification_step',
];

/** Registering operators' applications: every rule about a valid client lives here. */
export class ClientService {
  readonly #clients: ClientsRepo;
  readonly #rules: RedirectRules;

  constructor(clients: ClientsRepo, rules: RedirectRules) {
    this.#clients = clients;
    this.#rules = rules;
  }

  /**
   * Creates a client, or changes the one with the same id (declarative import, `client
   * create` again): fields the input leaves out keep their values.
   */
  async save(input: ClientChanges & { clientId?: string | undefined }): Promise<CreatedClient & { created: boolean }> {
    const existing = input.clientId ? await this.#clients.findById(input.clientId) : undefined;
    const { clientId: _id, ...changes } = input;
    const base: ClientInput = existing ? inputOf(existing) : { name: input.clientId ?? '' };
    return { ...(await this.#write(input.clientId ?? newClientId(), existing, applyChanges(base, changes))), created: !existing };
  }

  /** Changes an existing client (`idflow client update`): the change is applied, then the whole client is checked again. */
  async update(clientId: string, changes: ClientChanges): Promise<CreatedClient> {
    const existing = await this.#clients.findById(clientId);
    if (!existing) throw new AppError('not_found', `No client ${clientId}`);
    return this.#write(clientId, existing, applyChanges(inputOf(existing), changes));
  }

  list(): Promise<ClientRecord[]> {
    return this.#clients.list();
  }

  find(clientId: string): Promise<ClientRecord | undefined> {
    return this.#clients.findById(clientId);
  }

  async delete(clientId: string): Promise<void> {
    if (!(await this.#clients.delete(clientId))) throw new AppError('not_found', `No client ${clientId}`);
  }

  async #write(clientId: string, existing: ClientRecord | undefined, input: ClientInput): Promise<CreatedClient> {
    const metadata = this.#validate({ ...input, clientId });
    // A client that authenticates with a secret gets a generated one unless one was given; an
    // existing one keeps its secret unless the input names a new one (or it had none). A
    // client that no longer authenticates with a secret keeps none: no door may take the old one.
    const withSecret = usesSecret(metadata.token_endpoint_auth_method);
    const secret = withSecret ? (input.secret ?? (existing?.secretHash ? undefined : randomToken(32))) : undefined;
    const kept = Object.fromEntries(Object.entries(existing?.metadata ?? {}).filter(([key]) => !MANAGED_METADATA.includes(key)));
    const client = await this.#clients.upsert({
      clientId,
      name: input.name,
      metadata: { ...kept, ...metadata },
      secretHash: secret ? hashSecret(secret) : withSecret ? undefined : null,
    });
    return { client, secret };
  }

  #validate(input: ClientInput): ClientMetadata {
    const problems: FieldProblem[] = [];
    if (input.clientId !== undefined && !CLIENT_ID.test(input.clientId)) {
      problems.push({ field: '/client_id', message: 'must be 3-128 characters of A-Z a-z 0-9 . _ ~ -' });
    }
    if (!input.name?.trim() || input.name.length > 200) problems.push({ field: '/name', message: 'is required, at most 200 characters' });
    // A 1-Click brand needs no OAuth grant (it calls the API with a key): it gets none unless
    // it names some. Its redirect URIs are then where its Hosted requests may send people.
    const grantTypes = input.grantTypes?.length ? [...new Set(input.grantTypes)] : input.oneClick ? [] : ['authorization_code', 'refresh_token'];
    for (const g of grantTypes) {
      if (!(GRANT_TYPES as readonly string[]).includes(g)) problems.push({ field: '/grant_types', message: `unknown grant type ${g}; use ${GRANT_TYPES.join(', ')}` });
    }
    const auth = validateClientAuthentication(input, (uri, field, found) => this.#checkWebUrl(uri, field, found));
    problems.push(...auth.problems);
    const isPublic = auth.value.token_endpoint_auth_method === 'none';
    if (isPublic && grantTypes.includes('client_credentials')) {
      problems.push({ field: '/grant_types', message: 'a public client has no secret, so it cannot use client_credentials' });
    }
    const redirectUris = input.redirectUris ?? [];
    if (grantTypes.includes('authorization_code') && redirectUris.length === 0) {
      problems.push({ field: '/redirect_uris', message: 'authorization_code needs at least one redirect URI' });
    }
    redirectUris.forEach((uri, i) => this.#checkRedirectUri(uri, `/redirect_uris/${i}`, problems));
    (input.postLogoutRedirectUris ?? []).forEach((uri, i) => this.#checkRedirectUri(uri, `/post_logout_redirect_uris/${i}`, problems));
    const scopes = (input.scope ?? 'openid').split(/\s+/).filter(Boolean);
    for (const s of scopes) if (!SCOPE_TOKEN.test(s)) problems.push({ field: '/scope', message: `"${s}" is not a valid scope token` });
    if (input.secret !== undefined && usesSecret(auth.value.token_endpoint_auth_method) && (input.secret.length < 32 || input.secret.length > 256)) {
      problems.push({ field: '/client_secret', message: 'must be 32 to 256 characters (use a random value)' });
    }
    if (input.accessTokenTtl !== undefined && (!Number.isInteger(input.accessTokenTtl) || input.accessTokenTtl < 60 || input.accessTokenTtl > 7 * 86400)) {
      problems.push({ field: '/access_token_ttl', message: 'must be a whole number of seconds from 60 to 604800' });
    }
    const oneClick = input.oneClick ? validateBrand(input.oneClick, (uri, field, found) => this.#checkRedirectUri(uri, field, found)) : undefined;
    if (oneClick) problems.push(...oneClick.problems);
    if (input.webKyc) problems.push(...webKycProblems(input.webKyc, { confidential: usesSecret(auth.value.token_endpoint_auth_method), redirectUris }));
    if (problems.length) throw new AppError('validation_failed', 'The client is not valid', { fields: problems });
    return {
      ...(oneClick?.brand ? { one_click: oneClick.brand } : {}),
      ...(input.webKyc ? { web_kyc: input.webKyc } : {}),
      redirect_uris: redirectUris,
      post_logout_redirect_uris: input.postLogoutRedirectUris ?? [],
      grant_types: grantTypes as GrantType[],
      scope: [...new Set(scopes)].join(' '),
      ...auth.value,
      ...(input.accessTokenTtl ? { access_token_ttl: input.accessTokenTtl } : {}),
      ...(input.introspect ? { introspection_allowed: true } : {}),
      ...(input.verificationStep ? { verification_step: true } : {}),
    };
  }

  #checkRedirectUri(uri: string, field: string, problems: FieldProblem[]): void {
    const message = redirectUriProblem(uri, this.#rules);
    if (message) problems.push({ field, message });
  }

  #checkWebUrl(uri: string, field: string, problems: FieldProblem[]): void {
    const message = webUrlProblem(uri, this.#rules);
    if (message) problems.push({ field, message });
  }
}

/**
 * A stored client as input again, so a change is applied over it and the result checked by
 * the same rules as a new client. Every field `#validate` writes is read back here.
 */
function inputOf(client: ClientRecord): ClientInput {
  const m = client.metadata;
  const brand = brandOf(m);
  return {
    name: client.name,
    redirectUris: m.redirect_uris,
    postLogoutRedirectUris: m.post_logout_redirect_uris,
    grantTypes: m.grant_types,
    scope: m.scope,
    tokenEndpointAuthMethod: m.token_endpoint_auth_method,
    jwks: m.jwks,
    jwksUri: m.jwks_uri,
    accessTokenTtl: m.access_token_ttl,
    introspect: m.introspection_allowed,
    verificationStep: m.verification_step,
    oneClick: brand ? brandInputOf(brand) : undefined,
    webKyc: m.web_kyc as WebKycSettings | undefined,
  };
}

/** `base` with the changes applied: undefined keeps a field, null removes it, 1-Click settings field by field. */
function applyChanges(base: ClientInput, changes: ClientChanges): ClientInput {
  const next = merge(base as unknown as Record<string, unknown>, changes as Record<string, unknown>) as unknown as ClientInput;
  if (changes.oneClick) next.oneClick = merge((base.oneClick ?? {}) as Record<string, unknown>, changes.oneClick as Record<string, unknown>);
  // `public` names a method too: given alone, it replaces the stored method (false only a public one's).
  if (changes.tokenEndpointAuthMethod == null && (changes.public === true || (changes.public === false && base.tokenEndpointAuthMethod === 'none'))) {
    delete next.tokenEndpointAuthMethod;
  }
  // Keys belong to the method they were given with, and come from one source at a time: a
  // change of method, or new keys in the other form, leaves none of the stored ones.
  const changedMethod = methodOf(next) !== methodOf(base);
  if (changes.jwks === undefined && (changedMethod || changes.jwksUri != null)) delete next.jwks;
  if (changes.jwksUri === undefined && (changedMethod || changes.jwks != null)) delete next.jwksUri;
  return next;
}

const methodOf = (input: ClientInput) => input.tokenEndpointAuthMethod ?? (input.public ? 'none' : 'client_secret_basic');

function merge(base: Record<string, unknown>, changes: Record<string, unknown>): Record<string, unknown> {
  const next = { ...base };
  for (const [key, value] of Object.entries(changes)) {
    if (value === null) delete next[key];
    else if (value !== undefined) next[key] = value;
  }
  return next;
}

/**
 * A generated client id: 96 random bits, base64url, never starting with `-` or `_`, so that
 * an operator can pass it to a command (`idflow client update <id>`) without it reading as an option.
 */
function newClientId(): string {
  for (;;) {
    const id = randomToken(12);
    if (/^[A-Za-z0-9]/.test(id)) return id;
  }
}
