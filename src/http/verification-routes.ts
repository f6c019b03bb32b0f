import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../kernel/errors.ts';
import type { Services } from '../services.ts';
import { stillRefreshing, waitingPage, WAIT_REFRESH_SECONDS } from '../ui/waiting-page.ts';
import { imageLimits } from '../verification/registry.ts';
import { PROBLEM } from './problem.ts';
import { registerSandboxRoutes } from './sandbox-verification-routes.ts';

const idParams = {
  type: 'object',
  properties: { id: { type: 'string', pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' } },
  required: ['id'],
};

/**
 * The verification engine's browser and webhook doors:
 * - GET /verification/{id}/return — where a vendor sends the person back: a page that
 *   waits (no script: it refreshes itself for a while, then offers to check again) until
 *   the result is in, then a 303 to returnTo;
 * - POST /verification/webhooks/{provider} — a vendor's webhook, body kept raw for its signature;
 * - the sandbox's hosted steps, when the sandbox is enabled.
 */
export async function registerVerificationRoutes(app: FastifyInstance, services: Services): Promise<void> {
  const engine = services.verification;

  app.get('/verification/:id/return', { schema: { hide: true, params: idParams } }, async (request: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) => {
    const view = await engine.refresh(request.params.id);
    if (!view) throw new AppError('not_found', 'No such verification');
    if (view.state !== 'created' && view.state !== 'in_progress') return reply.redirect(view.returnTo, 303);
    const wait = { since: view.updatedAt, now: services.clock.now() };
    if (stillRefreshing(wait)) reply.header('refresh', String(WAIT_REFRESH_SECONDS));
    return reply
      .code(200)
      .header('cache-control', 'no-store')
      .type('text/html; charset=utf-8')
      .send(waitingPage({ ...wait, context: 'Identity verification', checkHref: `/verification/${view.id}/return` }));
  });

  await app.register(async (scope) => {
    // Signatures are over the exact bytes received, so this scope keeps bodies raw.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 1024 * 1024 }, (_request, body, done) => done(null, body));
    scope.post('/verification/webhooks/:provider', {
      schema: {
        summary: 'Webhook from an identity-verification vendor (signature checked by its adapter)',
        tags: ['verification'],
        params: { type: 'object', properties: { provider: { type: 'string', pattern: '^[a-z0-9_-]{1,32}$' } }, required: ['provider'] },
        response: {
          200: { type: 'object', properties: { received: { type: 'boolean' } }, required: ['received'], additionalProperties: false },
          '4xx': { content: { 'application/problem+json': { schema: PROBLEM } } },
          '5xx': { content: { 'application/problem+json': { schema: PROBLEM } } },
        },
      },
    }, async (request: FastifyRequest<{ Params: { provider: string } }>) => {
      const rawBody = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const view = await engine.handleWebhook(request.params.provider, { headers: request.headers, rawBody });
      return { received: view !== undefined };
    });
  });

  if (engine.providers.has('sandbox')) {
    await registerSandboxRoutes(app, {
      engine,
      clock: services.clock,
      formKey: services.formKey,
      imageLimits: imageLimits(services.config.verification),
      formDestinations: async (view) => (view.clientId ? ((await services.repos.clients.findRecent(view.clientId))?.metadata.redirect_uris ?? []) : []),
    });
  }
}
