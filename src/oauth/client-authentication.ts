import { createPublicKey } from 'node:crypto';
import type { FieldProblem } from '../kernel/errors.ts';
import type { ClientMetadata } from '../storage/clients-repo.ts';

/** How a client authenticates at the token, PAR, introspection and revocation endpoints. */
export const TOKEN_ENDPOINT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'] as const;
export type TokenEndpointAuthMethod = (typeof TOKEN_ENDPOINT_AUTH_METHODS)[number];

export interface ClientAuthenticationInput {
  tokenEndpointAuthMethod?: string | undefined;
  /** Shorthand for `none` (a public client). */
  public?: boolean | undefined;
  /** The client's public keys for private_key_jwt: a JWK Set `{"keys": [...]}`. */
  jwks?: unknown;
  /** Where the client publishes its JWK Set instead. */
  jwksUri?: string | undefined;
  secret?: string | undefined;
}

export type ClientAuthentication = Pick<ClientMetadata, 'token_endpoint_auth_method' | 'jwks' | 'jwks_uri'>;

/** Members that only a private or symmetric key has (RFC 7518 §6; `priv` of AKP keys). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k', 'priv'];
const MAX_KEYS = 20;
const MAX_JWKS_BYTES = 64 * 1024;

export const usesSecret = (method: string): boolean => method === 'client_secret_basic' || method === 'client_secret_post';

/**
 * The rules about how a client proves who it is, in one place for every way a client is
 * written (CLI, import file, updates). A client holding keys publishes public keys only:
 * idflow must never be the place a client's private key leaks from.
 */
export function validateClientAuthentication(
  input: ClientAuthenticationInput,
  /** The service's rule for a URL idflow itself calls: https, or loopback http in development. */
  checkWebUrl: (uri: string, field: string, problems: FieldProblem[]) => void,
): { value: ClientAuthentication; problems: FieldProblem[] } {
  const problems: FieldProblem[] = [];
  const method = (input.tokenEndpointAuthMethod ?? (input.public ? 'none' : 'client_secret_basic')) as TokenEndpointAuthMethod;
  if (!(TOKEN_ENDPOINT_AUTH_METHODS as readonly string[]).includes(method)) {
    problems.push({ field: '/token_endpoint_auth_method', message: `must be one of ${TOKEN_ENDPOINT_AUTH_METHODS.join(', ')}` });
  } else if (input.public && method !== 'none') {
    problems.push({ field: '/token_endpoint_auth_method', message: 'a public client authenticates with none' });
  }
  if (input.secret !== undefined && !usesSecret(method)) {
    problems.push({ field: '/client_secret', message: `a client that authenticates with ${method} has no secret` });
  }

  const { jwks, jwksUri } = input;
  if (method !== 'private_key_jwt') {
    if (jwks !== undefined || jwksUri !== undefined) problems.push({ field: jwks !== undefined ? '/jwks' : '/jwks_uri', message: 'keys are for private_key_jwt clients only' });
    return { value: { token_endpoint_auth_method: method }, problems };
  }
  if ((jwks === undefined) === (jwksUri === undefined)) {
    problems.push({ field: '/jwks', message: 'private_key_jwt needs the client\'s public keys: give jwks or jwks_uri, not both' });
    return { value: { token_endpoint_auth_method: method }, problems };
  }
  if (jwksUri !== undefined) {
    checkWebUrl(jwksUri, '/jwks_uri', problems);
    return { value: { token_endpoint_auth_method: method, jwks_uri: jwksUri }, problems };
  }
  const keys = checkJwks(jwks, problems);
  return { value: { token_endpoint_auth_method: method, jwks: { keys } }, problems };
}

function checkJwks(jwks: unknown, problems: FieldProblem[]): Record<string, unknown>[] {
  const keys = (jwks as { keys?: unknown } | null)?.keys;
  if (!isObject(jwks) || !Array.isArray(keys) || keys.length === 0 || keys.length > MAX_KEYS) {
    problems.push({ field: '/jwks', message: `must be a JWK Set: {"keys": [1 to ${MAX_KEYS} public keys]}` });
    return [];
  }
  if (JSON.stringify(jwks).length > MAX_JWKS_BYTES) problems.push({ field: '/jwks', message: `must be at most ${MAX_JWKS_BYTES} bytes` });
  keys.forEach((key: unknown, i) => {
    const field = `/jwks/keys/${i}`;
    if (!isObject(key)) return void problems.push({ field, message: 'must be a JSON Web Key' });
    const secret = PRIVATE_MEMBERS.find((member) => member in key);
    if (secret) return void problems.push({ field, message: `holds private key material ("${secret}"): register the public key only` });
    if (key.use !== undefined && key.use !== 'sig') return void problems.push({ field, message: 'must be a signing key (use "sig")' });
    try {
      createPublicKey({ key: key as never, format: 'jwk' });
    } catch {
      problems.push({ field, message: 'is not a valid public key (RSA, EC or OKP)' });
    }
  });
  return keys as Record<string, unknown>[];
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
