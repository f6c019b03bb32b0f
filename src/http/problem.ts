import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, isAppError } from '../kernel/errors.ts';

/**
 * Turns any error into an AppError: ours pass through, Fastify's validation and parsing
 * errors become `validation_failed` and friends, anything else is `internal` (and logged).
 */
export function toAppError(error: unknown, request: FastifyRequest): AppError {
  if (isAppError(error)) return error;
  const e = error as FastifyError;
  if (e.validation) {
    return new AppError('validation_failed', 'The request is not valid', {
      // `if`/`then` failures only restate the errors that caused them.
      fields: e.validation
        .filter((v) => v.keyword !== 'if')
        .map((v) => {
          const missing = (v.params as { missingProperty?: string }).missingProperty;
          return { field: missing ? `${v.instancePath}/${missing}` : v.instancePath || '/', message: v.message ?? 'is not valid' };
        }),
    });
  }
  switch (e.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError('unsupported_media_type', 'Send the body as application/json or application/x-www-form-urlencoded');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError('payload_too_large');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new AppError('validation_failed', 'The body is not valid JSON');
  }
  if (e.statusCode === 400 && e.message?.includes('JSON')) return new AppError('validation_failed', 'The body is not valid JSON');
  if (e.statusCode === 404) return new AppError('not_found');
  request.log.error({ err: { name: e.name, message: e.message, stack: e.stack } }, 'unhandled error');
  return new AppError('internal');
}

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
