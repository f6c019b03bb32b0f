import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppError } from '../kernel/errors.ts';

/** RFC 9457 problem+json, the native API's error format. */
export function sendProblem(reply: FastifyReply, error: AppError, request: FastifyRequest): FastifyReply {
  if (error.retryAfter) reply.header('retry-after', String(error.retryAfter));
  return reply
    .code(error.status)
    .type('application/problem+json')
    .send({
      type: `https://idflow.dev/problems/${error.code}`,
      title: error.publicMessage,
      status: error.status,
      code: error.code,
      ...(error.fields.length ? { errors: error.fields } : {}),
      instance: request.url.split('?')[0],
      traceId: request.id,
    });
}

/** The JSON Schema of what sendProblem sends, for routes to declare their error answers. */
export const PROBLEM = {
  type: 'object',
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    code: { type: 'string' },
    errors: { type: 'array', items: { type: 'object', properties: { field: { type: 'string' }, message: { type: 'string' } } } },
    instance: { type: 'string' },
    traceId: { type: 'string' },
  },
  required: ['type', 'title', 'status', 'code'],
};
