import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { WebhookService } from '../../notifications/webhooks/service.ts';
import { adminRoute, idParams, query, SUBSCRIPTION_ID, text, timeOf } from './schemas.ts';

type ById = FastifyRequest<{ Params: { id: string } }>;

const url = text(2000);
const eventTypes = { type: 'array', minItems: 1, maxItems: 100, items: text(100) };
const description = { type: 'string', maxLength: 200 };
const secret = text(200, { description: 'A `whsec_…` secret; made here when absent, and answered this once' });
const params = idParams(SUBSCRIPTION_ID);

/**
 * Webhook subscriptions of every client: list, create, read, change, rotate the secret,
 * enable, disable, delete, and recover what failed since a time — each one call to
 * WebhookService, which validates and decides (docs/notifications.md).
 */
export function registerSubscriptionRoutes(app: FastifyInstance, webhooks: WebhookService): void {
  app.get('/subscriptions', adminRoute({ summary: "List webhook subscriptions (one client's with client_id)", querystring: query({ client_id: text(200) }) }), async (request: FastifyRequest<{ Querystring: { client_id?: string } }>) => ({
    subscriptions: await webhooks.list(request.query.client_id),
  }));

  app.post(
    '/subscriptions',
    adminRoute({
      summary: 'Subscribe a client to event types; the signing secret is answered this once',
      body: { type: 'object', properties: { client_id: text(200), url, event_types: eventTypes, description, secret }, required: ['client_id', 'url', 'event_types'], additionalProperties: false },
    }),
    async (request: FastifyRequest<{ Body: { client_id: string; url: string; event_types: string[]; description?: string; secret?: string } }>, reply: FastifyReply) => {
      const { client_id: clientId, event_types: eventTypes, ...rest } = request.body;
      const { subscription, secret } = await webhooks.subscribe(clientId, { ...rest, eventTypes });
      return reply.code(201).send({ subscription, secret });
    },
  );

  app.get('/subscriptions/:id', adminRoute({ summary: 'One subscription (never its secrets)', params }), async (request: ById) => webhooks.get(request.params.id));

  app.patch(
    '/subscriptions/:id',
    adminRoute({
      summary: "Change a subscription's URL, event types or description (an empty description removes it)",
      params,
      body: { type: 'object', properties: { url, event_types: eventTypes, description }, minProperties: 1, additionalProperties: false },
    }),
    async (request: FastifyRequest<{ Params: { id: string }; Body: { url?: string; event_types?: string[]; description?: string } }>) => {
      const { url, event_types: eventTypes, description } = request.body;
      return webhooks.update(request.params.id, { url, eventTypes, description });
    },
  );

  app.post(
    '/subscriptions/:id/rotate-secret',
    adminRoute({
      summary: 'A new signing secret (answered this once); the previous one keeps signing for overlap_seconds (24 h by default)',
      params,
      body: { type: ['object', 'null'], properties: { secret, overlap_seconds: { type: 'integer', minimum: 0, maximum: 604800 } }, additionalProperties: false },
    }),
    async (request: FastifyRequest<{ Params: { id: string }; Body: { secret?: string; overlap_seconds?: number } | null }>) => {
      const { secret, previousValidUntil } = await webhooks.rotateSecret(request.params.id, { secret: request.body?.secret, overlapSeconds: request.body?.overlap_seconds });
      return { id: request.params.id, secret, previous_secret_valid_until: previousValidUntil.toISOString() };
    },
  );

  for (const [action, enabled] of [['enable', true], ['disable', false]] as const) {
    app.post(
      `/subscriptions/:id/${action}`,
      adminRoute({ summary: enabled ? 'Enable a subscription (its failures are forgotten; waiting deliveries resume)' : 'Disable a subscription: it gets no new deliveries, and those waiting wait', params }),
      async (request: ById) => webhooks.setEnabled(request.params.id, enabled),
    );
  }

  app.delete('/subscriptions/:id', adminRoute({ summary: 'Delete a subscription and its deliveries', params, response: { 204: { description: 'Deleted', type: 'null' } } }), async (request: ById, reply: FastifyReply) => {
    await webhooks.remove(request.params.id);
    return reply.code(204).send();
  });

  app.post(
    '/subscriptions/:id/recover',
    adminRoute({
      summary: 'Send again every delivery of the subscription that failed for good since a time (same webhook-id)',
      params,
      body: { type: 'object', properties: { since: { type: 'string', format: 'date-time', maxLength: 40 } }, required: ['since'], additionalProperties: false },
    }),
    async (request: FastifyRequest<{ Params: { id: string }; Body: { since: string } }>) => ({
      subscription_id: request.params.id,
      requeued: await webhooks.recover(request.params.id, timeOf('since', request.body.since)!),
    }),
  );
}
