import type { FastifyInstance } from 'fastify';
import type { Db } from '../storage/db.ts';

const healthSchema = {
  tags: ['operations'],
  response: {
    200: { type: 'object', properties: { status: { type: 'string' } }, required: ['status'] },
    503: { type: 'object', properties: { status: { type: 'string' } }, required: ['status'] },
  },
};

/** Liveness answers while the process runs; readiness only while the database answers too. */
export function registerHealth(app: FastifyInstance, db: Db): void {
  app.get('/healthz', { schema: { ...healthSchema, summary: 'Liveness' } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { ...healthSchema, summary: 'Readiness (the database is reachable)' } }, async (_request, reply) => {
    try {
      await db.ping();
      return { status: 'ready' };
    } catch {
      return reply.code(503).send({ status: 'database unreachable' });
    }
  });
}
