import type { FastifyInstance, FastifyRequest } from 'fastify';
import { auditEntryView, type AuditLog } from '../../audit/audit-log.ts';
import { AppError } from '../../kernel/errors.ts';
import type { EventLog } from '../../notifications/event-log.ts';
import { adminRoute, listed, PAGING, pagingOf, PERIOD, query, text, timeOf } from './schemas.ts';

interface LogQuery {
  client_id?: string;
  user_id?: string;
  since?: string;
  until?: string;
  limit?: string;
  cursor?: string;
}

/** A name of the events and the audit log: `one_click.created`, or a prefix ending in `.`. */
const NAME = text(100, { pattern: '^[a-z0-9_]+(\\.[a-z0-9_]+)*\\.?$' });
const COMMON = { client_id: text(200), user_id: text(100), ...PERIOD, ...PAGING };

/** What happened (events) and its tamper-evident record (the audit log, docs/audit.md), filtered and paged. */
export function registerLogRoutes(app: FastifyInstance, logs: { events: EventLog; audit: AuditLog }): void {
  app.get(
    '/events',
    adminRoute({
      summary: 'List events, newest first: by client, user, type (exact, or a prefix ending in ".") or kind (one_click, web_kyc, verification…), and time',
      querystring: query({ ...COMMON, type: NAME, kind: text(50, { pattern: '^[a-z0-9_]+$' }) }),
    }),
    async (request: FastifyRequest<{ Querystring: LogQuery & { type?: string; kind?: string } }>) => {
      const q = request.query;
      if (q.type !== undefined && q.kind !== undefined) {
        throw new AppError('validation_failed', 'Give type or kind, not both', { fields: [{ field: '/kind', message: 'must not be given with type' }] });
      }
      const filter = { clientId: q.client_id, userId: q.user_id, type: q.kind === undefined ? q.type : `${q.kind}.`, since: timeOf('since', q.since), until: timeOf('until', q.until) };
      return listed('events', await logs.events.list(filter, pagingOf(q)));
    },
  );

  app.get(
    '/audit',
    adminRoute({
      summary: 'List audit log entries, newest first: by stream, client, user, action (exact, or a prefix ending in ".") and time',
      querystring: query({ ...COMMON, stream: text(200), action: NAME }),
    }),
    async (request: FastifyRequest<{ Querystring: LogQuery & { stream?: string; action?: string } }>) => {
      const q = request.query;
      const filter = { stream: q.stream, clientId: q.client_id, userId: q.user_id, action: q.action, since: timeOf('since', q.since), until: timeOf('until', q.until) };
      const page = await logs.audit.list(filter, pagingOf(q));
      return listed('entries', { items: page.entries.map(auditEntryView), nextCursor: page.nextCursor });
    },
  );
}
