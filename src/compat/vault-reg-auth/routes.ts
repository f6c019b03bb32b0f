import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import inject from 'light-my-request';
import type { Services } from '../../services.ts';
import { CLIENT_IP_HEADER } from '../../oauth/client-ip.ts';
import { OAUTH_ROUTES } from '../../oauth/engine.ts';
import { signedInAccountOf } from '../../oauth/password-grant.ts';
import { accessTokenOwner, refreshTokenState } from '../../oauth/token-info.ts';
import { TOKEN_RESPONSE_HEADERS } from '../../oauth/token-response-headers.ts';
import { sendVaultAppError, sendVaultError } from './errors.ts';

interface TokenBody {
  grant_type: 'password' | 'refresh_token';
  username?: string;
  password?: string;
  client_id?: string;
  client_secret?: string;
  refresh_token?: string;
  scope?: string;
}

const bodySchema = {
  type: 'object',
  required: ['grant_type'],
  properties: {
    grant_type: { type: 'string', enum: ['password', 'refresh_token'] },
    username: { type: 'string', minLength: 1, maxLength: 320 },
    password: { type: 'string', minLength: 1, maxLength: 1024 },
    client_id: { type: 'string', minLength: 1, maxLength: 128 },
    client_secret: { type: 'string', maxLength: 256 },
    refresh_token: { type: 'string', minLength: 1, maxLength: 512 },
    scope: { type: 'string', maxLength: 4096 },
  },
  allOf: [
    { if: { properties: { grant_type: { const: 'password' } } }, then: { required: ['username', 'password', 'client_id'] } },
    { if: { properties: { grant_type: { const: 'refresh_token' } } }, then: { required: ['refresh_token'] } },
  ],
};

const tokenResponse = {
  type: 'object',
  required: ['access_token', 'token_type', 'scope', 'expires_in', 'user_id'],
  properties: {
    access_token: { type: 'string' },
    token_type: { type: 'string' },
    refresh_token: { type: 'string' },
    scope: { type: 'string' },
    expires_in: { type: 'integer' },
    user_id: { type: 'string' },
  },
};

const errorResponse = {
  type: 'object',
  properties: {
    status: { type: 'string' },
    message: { type: 'string' },
    traceId: { type: 'string' },
    errors: { type: 'array', items: { type: 'object', properties: { field: { type: 'string' }, message: { type: 'string' } } } },
  },
};

/**
 * Vault's `POST /reg/auth/token`: the password and refresh_token grants with Vault's
 * request and response shapes. It is a door into the OAuth core, nothing more: the request
 * is handed to the core's token endpoint in process, so the tokens, rules, throttling and
 * reuse detection are the core's, and introspection, userinfo and revocation accept them.
 */
export function registerVaultRegAuth(app: FastifyInstance, services: Services): void {
  app.register(async (scope) => {
    // Successes carry tokens; errors say whether a password was right. Neither may be cached.
    scope.addHook('onSend', async (_request, reply, payload) => {
      reply.headers(TOKEN_RESPONSE_HEADERS);
      return payload;
    });
    scope.setErrorHandler(sendVaultAppError);

    scope.post<{ Body: TokenBody }>(
      '/reg/auth/token',
      {
        schema: {
          tags: ['vault'],
          summary: 'Sign in with a password, or refresh (Vault-compatible)',
          body: bodySchema,
          response: { 200: tokenResponse, 400: errorResponse, 401: errorResponse, 403: errorResponse, 429: errorResponse },
        },
      },
      async (request, reply) => {
        const body = request.body;
        if (body.grant_type === 'password') return signIn(services, request, reply, body);
        return refresh(services, request, reply, body);
      },
    );
  });
}

async function signIn(services: Services, request: FastifyRequest, reply: FastifyReply, body: TokenBody) {
  const answer = await callTokenEndpoint(services, request, {
    grant_type: 'password',
    username: body.username!,
    password: body.password!,
    client_id: body.client_id!,
    ...(body.client_secret ? { client_secret: body.client_secret } : {}),
    ...(body.scope ? { scope: body.scope } : {}),
  });
  if (answer.status !== 200) return relayError(reply, request, answer, 'password');
  return sendTokens(services, request, reply, answer, 'password');
}

async function refresh(services: Services, request: FastifyRequest, reply: FastifyReply, body: TokenBody) {
  const token = await refreshTokenState(services.repos.payloads, services.clock, body.refresh_token!);
  if (token.state === 'expired') return sendVaultError(reply, request, 401, `The Token has expired on ${token.expiredAt.toISOString()}`);
  // A used token is passed on: the core then revokes the whole grant (reuse detection).
  if (token.state === 'unknown') return sendVaultError(reply, request, 401, 'The Token is invalid');
  const clientId = token.clientId;
  const answer = await callTokenEndpoint(services, request, {
    grant_type: 'refresh_token',
    refresh_token: body.refresh_token!,
    client_id: clientId,
    ...(body.client_secret ? { client_secret: body.client_secret } : {}),
    ...(body.scope ? { scope: body.scope } : {}),
  });
  if (answer.status !== 200) return relayError(reply, request, answer, 'refresh_token');
  return sendTokens(services, request, reply, answer, 'refresh_token');
}

async function sendTokens(services: Services, request: FastifyRequest, reply: FastifyReply, answer: CoreAnswer, grant: 'password' | 'refresh_token') {
  // A password grant names whom it signed in; a refresh is looked up, which also finds out
  // whether a racing reuse revoked the new tokens already.
  const userId = answer.signedIn ?? (await accessTokenOwner(services.oauth, answer.body.access_token as string));
  // Gone already: its grant was revoked in the meantime (another request reused the token).
  if (!userId) return relayError(reply, request, { ...answer, body: { error: 'invalid_grant' } }, grant);
  return reply.header('x-request-id', request.id).send(vaultTokens(answer.body, userId));
}

function vaultTokens(core: Record<string, unknown>, userId: string) {
  return {
    access_token: core.access_token,
    token_type: 'Bearer',
    ...(core.refresh_token ? { refresh_token: core.refresh_token } : {}),
    scope: core.scope ?? '',
    expires_in: core.expires_in,
    user_id: userId,
  };
}

interface CoreAnswer {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: Record<string, unknown>;
  /** The user a password grant signed in. */
  signedIn?: string;
}

async function callTokenEndpoint(services: Services, request: FastifyRequest, form: Record<string, string>): Promise<CoreAnswer> {
  const authorization = request.headers.authorization;
  const response = await inject(services.oauth.provider.callback() as never, {
    method: 'POST',
    url: OAUTH_ROUTES.token,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
      [CLIENT_IP_HEADER]: request.ip,
      ...(authorization ? { authorization } : {}),
    },
    payload: new URLSearchParams(form).toString(),
  });
  const signedIn = signedInAccountOf(response.raw.req);
  return { status: response.statusCode, headers: response.headers, body: response.json(), ...(signedIn ? { signedIn } : {}) };
}

function relayError(reply: FastifyReply, request: FastifyRequest, answer: CoreAnswer, grant: 'password' | 'refresh_token') {
  const { error, error_description: description } = answer.body as { error?: string; error_description?: string };
  switch (error) {
    case 'too_many_requests':
      reply.header('retry-after', String(answer.headers['retry-after'] ?? 60));
      return sendVaultError(reply, request, 429, 'Too many failed sign-in attempts; try again later');
    case 'invalid_grant':
      return sendVaultError(reply, request, 401, grant === 'password' ? 'Invalid username or password' : 'The Token is invalid');
    case 'invalid_client':
      return sendVaultError(reply, request, 401, 'The client is unknown or its credentials are wrong');
    case 'unauthorized_client':
      return sendVaultError(reply, request, 403, `The client may not use the ${grant} grant`);
    case 'invalid_request':
      return sendVaultError(reply, request, 400, description ?? 'The request is not valid');
    case 'invalid_scope':
      return sendVaultError(reply, request, 400, description ?? 'The requested scope is not allowed', [{ field: 'scope', message: description ?? 'not allowed' }]);
    default:
      request.log.error({ coreStatus: answer.status, coreError: error }, 'token endpoint failed');
      return sendVaultError(reply, request, 500, 'Something went wrong on our side');
  }
}
