import cookie from '@fastify/cookie';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import formbody from '@fastify/formbody';
import swagger from '@fastify/swagger';
import type { Services } from './services.ts';
import { registerAuthenteqWebKyc } from './compat/authenteq-webkyc/routes.ts';
import { registerVaultRegAuth } from './compat/vault-reg-auth/routes.ts';
import { registerVerifiedOneClick } from './compat/verified-1click/routes.ts';
import { registerHealth } from './http/health.ts';
import { registerAccountRoutes } from './http/account-routes.ts';
import { registerInteractionRoutes } from './http/interaction-routes.ts';
import { registerMetrics } from './http/metrics.ts';
import { mountOAuth } from './http/oauth-mount.ts';
import { registerOneClickWalletRoutes } from './http/one-click-wallet-routes.ts';
import { errorRendererFor } from './http/surfaces.ts';
import { AppError } from './kernel/errors.ts';
import { assertStorableText } from './kernel/text.ts';
import { requestId } from './http/request-id.ts';
import { HTML_SECURITY_HEADERS } from './ui/page-security.ts';
import { withRequest } from './kernel/request-context.ts';
import { registerSmsOutbox } from './http/dev-sms-outbox-routes.ts';
import { registerVerificationRoutes } from './http/verification-routes.ts';
import { registerAdminApi } from './http/admin/index.ts';
import { ADMIN_SECURITY_SCHEMES } from './http/admin/schemas.ts';

/**
 * The one factory for the HTTP application; production (src/main.ts) and the tests both
 * build it here, from already-wired services.
 */
export async function buildApp(services: Services): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: services.logger as FastifyBaseLogger,
    genReqId: requestId,
    logController: new LogController({ requestIdLogLabel: 'requestId' }),
    trustProxy: services.config.trustProxy,
    bodyLimit: 64 * 1024,
    routerOptions: { ignoreTrailingSlash: true },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: true } },
    // A URL that does not decode is answered before any route, in its surface's format;
    // the onSend hook does not run there, so its headers are set here (harmless on JSON).
    frameworkErrors: (error, request, reply) =>
      errorRendererFor(request.url)(error, request, reply.headers({ ...HTML_SECURITY_HEADERS, 'x-request-id': request.id })),
  });

  // First of all hooks: whatever serves the request, however deep, can name it (security events' log lines).
  app.addHook('onRequest', (request, _reply, done) => withRequest(request.id, done));

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'idflow', version: '0.1.0', description: 'Identity platform: OAuth 2.0 / OpenID Connect and vendor-compatible APIs' },
      components: { securitySchemes: ADMIN_SECURITY_SCHEMES(services.oauth.provider.urlFor('token')) as never },
    },
  });
  await app.register(formbody);
  // Cookies of hosted pages (a flow's browser binding: src/ui/flow-cookie.ts) are read and written through it.
  await app.register(cookie);

  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('x-request-id', _request.id);
    // A page whose forms lead to a client has set its own policy (pageSecurityHeaders); every other page gets the default.
    if (String(reply.getHeader('content-type') ?? '').startsWith('text/html') && !reply.hasHeader('content-security-policy')) reply.headers(HTML_SECURITY_HEADERS);
    return payload;
  });
  app.setErrorHandler((error, request, reply) => errorRendererFor(request.url)(error, request, reply));
  app.setNotFoundHandler((request, reply) => errorRendererFor(request.url)(new AppError('not_found'), request, reply));
  // Once for every route: text nothing can store is refused before any handler sees it.
  app.addHook('preHandler', async (request) => {
    assertStorableText(request.params);
    assertStorableText(request.query);
    assertStorableText(request.body);
  });

  registerMetrics(app, services.metrics);
  registerHealth(app, services.db);
  mountOAuth(app, services.oauth);
  registerInteractionRoutes(app, services);
  registerAccountRoutes(app, services);
  registerVaultRegAuth(app, services);
  registerAuthenteqWebKyc(app, services);
  registerVerifiedOneClick(app, services);
  registerOneClickWalletRoutes(app, services);
  registerSmsOutbox(app, services);
  await registerVerificationRoutes(app, services);
  await registerAdminApi(app, services);

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  return app;
}
