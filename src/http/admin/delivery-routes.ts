import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { attemptView, deliveryView, type WebhookService } from '../../notifications/webhooks/service.ts';
import { adminRoute, DELIVERY_ID, idParams, listed, PAGING, pagingOf, query, text } from './schemas.ts';

type ById = FastifyRequest<{ Params: { id: string } }>;

interface DeliveryQuery {
  subscription_id?: string;
  client_id?: string;
  state?: 'pending' | 'delivered' | 'failed';
  message_id?: string;
  limit?: string;
  cursor?: string;
}

const params = idParams(DELIVERY_ID);

/** Deliveries of webhook messages, their attempts, and sending one again (docs/notifications.md). */
export function registerDeliveryRoutes(app: FastifyInstance, webhooks: WebhookService): void {
  app.get(
    '/deliveries',
    adminRoute({
      summary: 'List deliveries, newest first, a page at a time',
      querystring: query({ subscription_id: text(100), client_id: text(200), state: { type: 'string', enum: ['pending', 'delivered', 'failed'] }, message_id: text(100), ...PAGING }),
    }),
    async (request: FastifyRequest<{ Querystring: DeliveryQuery }>) => {
      const q = request.query;
      return listed('deliveries', await webhooks.deliveryPage({ subscriptionId: q.subscription_id, clientId: q.client_id, state: q.state, messageId: q.message_id }, pagingOf(q)));
    },
  );

  app.get('/deliveries/:id', adminRoute({ summary: 'One delivery with every attempt: status, duration, the first bytes of the answer', params }), async (request: ById) => {
    const { delivery, attempts } = await webhooks.delivery(Number(request.params.id));
    return { ...deliveryView(delivery), attempts_made: attempts.map(attemptView) };
  });

  app.post(
    '/deliveries/:id/redeliver',
    adminRoute({ summary: 'Send one delivery again now, with a fresh retry schedule and the same webhook-id', params }),
    async (request: ById, reply: FastifyReply) => {
      await webhooks.redeliver(Number(request.params.id));
      return reply.code(202).send({ id: Number(request.params.id), state: 'pending' });
    },
  );
}
