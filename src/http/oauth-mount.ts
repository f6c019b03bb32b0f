import { IncomingMessage } from 'node:http';
import { parse as parseForm } from 'node:querystring';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { assertStorableText } from '../kernel/text.ts';
import type { OAuthEngine } from '../oauth/engine.ts';
import { OAUTH_ROUTES } from '../oauth/engine.ts';
import { CLIENT_IP_HEADER } from '../oauth/client-ip.ts';
import { HTML_SECURITY_HEADERS } from '../ui/page-security.ts';
import { sendErrorPageOf } from './error-page.ts';
import { toAppError } from '../kernel/to-app-error.ts';

/** The engine's own limit on a form body; a larger one is refused before it is read. */
const FORM_LIMIT = 56 * 1024;

/** Endpoints a browser is sent to: their errors are pages, as the engine renders its own. */
const BROWSER_ENDPOINTS: readonly string[] = [OAUTH_ROUTES.authorization, OAUTH_ROUTES.end_session];

/**
 * Hands the OAuth/OIDC endpoints to the engine. Form bodies are read here, and they and the
 * query are refused when they hold text nothing can store (NUL, unpaired surrogates),
 * before any of it reaches the engine; the engine then reads the same bytes.
 */
export function mountOAuth(app: FastifyInstance, engine: OAuthEngine): void {
  app.register(async (scope) => {
    scope.setErrorHandler(sendOAuthError);
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'buffer', bodyLimit: FORM_LIMIT }, (_request, body, done) => done(null, body));
    // Other bodies are the engine's to refuse (it names the content type it takes).
    scope.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
    const handler = async (request: FastifyRequest, reply: FastifyReply) => {
      const form = Buffer.isBuffer(request.body) ? request.body : undefined;
      if (form) assertStorableText(parseForm(form.toString('utf8')));
      request.raw.headers[CLIENT_IP_HEADER] = request.ip;
      reply.raw.setHeader('x-request-id', request.id);
      // The engine answers on the raw response, past the app's onSend hook: set the page
      // headers here (harmless on its JSON answers).
      for (const [name, value] of Object.entries(HTML_SECURITY_HEADERS)) reply.raw.setHeader(name, value);
      reply.hijack();
      await engine.provider.callback()(form ? replay(request.raw, form) : request.raw, reply.raw);
    };
    const methods = ['GET', 'POST', 'OPTIONS', 'HEAD'] as const;
    scope.route({ method: [...methods], url: '/.well-known/openid-configuration', handler, schema: { hide: true } });
    scope.route({ method: [...methods], url: '/oauth/*', handler, schema: { hide: true } });
  });
}

/**
 * Errors found before the engine runs, in the engine's shapes: `{error, error_description}`
 * (RFC 6749 §5.2), or the error page on the endpoints a browser is sent to.
 */
export function sendOAuthError(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const appError = toAppError(error, request);
  // The engine answers an unknown route with invalid_request and 404 too (rfc-answers.ts).
  const oauthError = appError.status >= 500 ? 'server_error' : 'invalid_request';
  const status = appError.status >= 500 ? 500 : appError.status === 404 ? 404 : 400;
  if (BROWSER_ENDPOINTS.includes(request.url.split('?')[0]!)) return sendErrorPageOf(reply, appError, { reference: oauthError }, status);
  reply.code(status).header('cache-control', 'no-store');
  const field = appError.fields[0];
  return reply.send({ error: oauthError, error_description: field ? `${field.field.replace(/^\//, '')} ${field.message}` : appError.publicMessage });
}

/** The request again, its stream replaying a body already read: the engine reads bodies itself. */
function replay(raw: IncomingMessage, body: Buffer): IncomingMessage {
  const copy = new IncomingMessage(raw.socket);
  Object.assign(copy, {
    method: raw.method,
    url: raw.url,
    headers: raw.headers,
    rawHeaders: raw.rawHeaders,
    httpVersion: raw.httpVersion,
    httpVersionMajor: raw.httpVersionMajor,
    httpVersionMinor: raw.httpVersionMinor,
    complete: true,
  });
  copy.push(body);
  copy.push(null);
  return copy;
}
