import type { FastifyInstance } from 'fastify';
import type { OAuthEngine } from '../oauth/engine.ts';
import { CLIENT_IP_HEADER } from '../oauth/client-ip.ts';
import { HTML_SECURITY_HEADERS } from './security-headers.ts';

/**
 * Hands the OAuth/OIDC endpoints to the engine. The engine reads request bodies itself,
 * so this scope registers a parser that leaves the stream untouched.
 */
export function mountOAuth(app: FastifyInstance, engine: OAuthEngine): void {
  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
    const handler = async (request: import('fastify').FastifyRequest, reply: import('fastify').FastifyReply) => {
      request.raw.headers[CLIENT_IP_HEADER] = request.ip;
      reply.raw.setHeader('x-request-id', request.id);
      // The engine answers on the raw response, past the app's onSend hook: set the page
      // headers here (harmless on its JSON answers).
      for (const [name, value] of Object.entries(HTML_SECURITY_HEADERS)) reply.raw.setHeader(name, value);
      reply.hijack();
      await engine.provider.callback()(request.raw, reply.raw);
    };
    const methods = ['GET', 'POST', 'OPTIONS', 'HEAD'] as const;
    scope.route({ method: [...methods], url: '/.well-known/openid-configuration', handler, schema: { hide: true } });
    scope.route({ method: [...methods], url: '/oauth/*', handler, schema: { hide: true } });
  });
}
