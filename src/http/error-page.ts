import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppError } from '../kernel/errors.ts';
import { html } from '../ui/html.ts';
import { page } from '../ui/layout.ts';
import { toAppError } from './problem.ts';

const TEXT = {
  notFound: { title: 'Page not found', message: 'This page does not exist or is no longer available. Go back to the application and start again.' },
  badRequest: { title: 'This page could not be read', message: 'Go back, reload the page and try again.' },
  tooMany: { title: 'Too many attempts', message: 'Wait a few minutes and try again.' },
  failed: { title: 'Something went wrong', message: 'The page could not be shown because of a problem on our side. Try again in a moment.' },
};

/** The hosted pages' answer to an error: a page in their one look, with the error's stable code. */
export function errorPageOf(error: AppError, shownCode: string = error.code): string {
  const text = error.status >= 500 ? TEXT.failed : error.status === 404 ? TEXT.notFound : error.status === 429 ? TEXT.tooMany : TEXT.badRequest;
  return page({ title: text.title, body: html`<p>${text.message}</p><p class="muted">Error: <code>${shownCode}</code></p>` });
}

/** Error renderer of idflow's own hosted pages (sign-in, consent, verification steps). */
export function sendErrorPage(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const appError = toAppError(error, request);
  if (appError.retryAfter) reply.header('retry-after', String(appError.retryAfter));
  return reply.code(appError.status).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(errorPageOf(appError));
}
