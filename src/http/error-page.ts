import type { FastifyReply, FastifyRequest } from 'fastify';
import { errorPage, type ErrorPageView } from '../ui/error-page.ts';
import { toAppError } from '../kernel/to-app-error.ts';

/**
 * Sends the hosted error page (src/ui/error-page.ts) for any error: the status is the
 * error's unless the surface's contract names another; nothing may keep the page.
 */
export function sendErrorPageOf(
  reply: FastifyReply,
  error: { code: ErrorPageView['code']; status: number; retryAfter?: number | undefined },
  view: Omit<ErrorPageView, 'code'> = {},
  status = error.status,
): FastifyReply {
  if (error.retryAfter) reply.header('retry-after', String(error.retryAfter));
  return reply.code(status).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(errorPage({ ...view, code: error.code }, status));
}

/** Error renderer of idflow's own hosted pages (sign-in, consent, verification steps). */
export function sendErrorPage(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return sendErrorPageOf(reply, toAppError(error, request));
}
