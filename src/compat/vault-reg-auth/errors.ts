import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * Vault's error body: `{status, message, traceId, errors: []}`, with the HTTP status named
 * in `status` (UNAUTHORIZED, BAD_REQUEST…), as its documentation shows for an expired
 * refresh token. The same shape serves every error of this door.
 */
const STATUS_NAMES: Record<number, string> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
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
