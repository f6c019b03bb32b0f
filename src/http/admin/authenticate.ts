import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../kernel/errors.ts';
import type { OAuthEngine } from '../../oauth/engine.ts';
import { ADMIN_SCOPE } from '../../oauth/scopes.ts';
import { clientCredentialsGrant } from '../../oauth/token-info.ts';

const REALM = 'realm="idflow-admin"';
const BEARER = /^Bearer +(\S+) *$/i;

/**
 * The admin API's door (onRequest, before any input is read): a client-credentials access
 * token from our own engine, of a client registered with the admin scope. No token → 401
 * `unauthenticated`; a token that is unknown, expired, of a deleted client or not a bearer
 * token → 401 `invalid_token`; a token without the scope → 403 `forbidden`. The
 * WWW-Authenticate header says which, as RFC 6750 §3 has it.
 */
export function adminAuthentication(oauth: OAuthEngine) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const header = request.headers.authorization;
    if (!header) {
      reply.header('www-authenticate', `Bearer ${REALM}, scope="${ADMIN_SCOPE}"`);
      throw new AppError('unauthenticated', 'A bearer token with the admin scope is required');
    }
    const value = BEARER.exec(header)?.[1];
    const grant = value ? await clientCredentialsGrant(oauth, value) : undefined;
    if (!grant) {
      reply.header('www-authenticate', `Bearer ${REALM}, error="invalid_token"`);
      throw new AppError('invalid_token');
    }
    if (!grant.scopes.includes(ADMIN_SCOPE)) {
      reply.header('www-authenticate', `Bearer ${REALM}, error="insufficient_scope", scope="${ADMIN_SCOPE}"`);
      throw new AppError('forbidden', `The token does not carry the ${ADMIN_SCOPE} scope`);
    }
    // Who did what through the admin API is in the request's log lines.
    request.log = request.log.child({ adminClientId: grant.clientId });
  };
}
