import type { FastifyReply, FastifyRequest } from 'fastify';
import { toAppError } from '../../kernel/to-app-error.ts';

/**
 * Vault's error body: `{status, message, traceId, errors: []}`, with the HTTP status named
 * in `status` (UNAUTHORIZED, BAD_REQUEST…), as its documentation shows for an expired
 * refresh token. The same shape serves every error of this door.
 */
const STATUS_NAMES: Record<number, string> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'TOO_MANY_REQUESTS',
  500: 'INTERNAL_SERVER_ERROR',
  503: 'SERVICE_UNAVAILABLE',
};

export interface VaultFieldError {
  field: string;
  message: string;
}

export function sendVaultError(
  reply: FastifyReply,
  request: FastifyRequest,
  status: number,
  message: string,
  errors: VaultFieldError[] = [],
): FastifyReply {
  return reply
    .code(status)
    .header('x-request-id', request.id)
    .send({ status: STATUS_NAMES[status] ?? 'ERROR', message, traceId: request.id, errors });
}

/** Any error escaping this door, in its shape; internal detail stays in the log. */
export function sendVaultAppError(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const appError = toAppError(error, request);
  if (appError.retryAfter) reply.header('retry-after', String(appError.retryAfter));
  return sendVaultError(reply, request, appError.status, appError.publicMessage, appError.fields);
}
