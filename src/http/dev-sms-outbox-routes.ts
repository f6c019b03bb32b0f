import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parsePhone } from '../identity/contact.ts';
import type { Services } from '../services.ts';

const outboxSchema = {
  // Not part of the API an operator integrates with: it exists only on a developer's machine.
  hide: true,
  querystring: {
    type: 'object',
    required: ['phone'],
    additionalProperties: false,
    properties: { phone: { type: 'string', minLength: 1, maxLength: 32 } },
  },
  response: {
    200: {
      type: 'object',
      required: ['messages'],
      additionalProperties: false,
      properties: {
        messages: {
          type: 'array',
          items: {
            type: 'object',
            required: ['to', 'text', 'createdAt'],
            additionalProperties: false,
            properties: { to: { type: 'string' }, text: { type: 'string' }, createdAt: { type: 'string', format: 'date-time' } },
          },
        },
      },
    },
  },
};

function isLoopback(address: string | undefined): boolean {
  return address !== undefined && (address === '::1' || /^(::ffff:)?127(\.\d{1,3}){3}$/.test(address));
}

/**
 * GET /dev/sms-outbox?phone=+1…: the messages the dev sender kept for a phone, oldest first.
 * Registered only in development with the dev sender, and even then it answers only a
 * caller on this machine: the socket's own address (never a forwarded one) must be loopback,
 * and a request that came through a proxy (which would connect from loopback) is refused.
 * Every refusal is the ordinary 404, so the route cannot be told from one that is absent.
 */
export function registerSmsOutbox(app: FastifyInstance, services: Pick<Services, 'config' | 'smsOutbox'>): void {
  const outbox = services.smsOutbox;
  if (services.config.env !== 'development' || !outbox) return;
  app.get<{ Querystring: { phone: string } }>(
    '/dev/sms-outbox',
    {
      schema: outboxSchema,
      // onRequest runs before validation, so a remote caller learns nothing from a 400 either.
      onRequest: async (request: FastifyRequest, reply: FastifyReply) => {
        const proxied = ['x-forwarded-for', 'x-real-ip', 'forwarded'].some((name) => request.headers[name] !== undefined);
        if (proxied || !isLoopback(request.socket.remoteAddress)) return reply.callNotFound();
      },
    },
    async (request) => ({ messages: outbox.messagesFor(parsePhone(request.query.phone)) }),
  );
}
