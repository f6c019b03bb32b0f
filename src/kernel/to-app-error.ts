import { AppError, isAppError } from './errors.ts';

/**
 * What an error raised by the web framework, its plugins or a body parser may carry (Fastify's
 * `FastifyError` and AJV's validation results, by shape): only the meaning is read from it.
 */
interface FrameworkError {
  name?: string;
  message?: string;
  stack?: string;
  code?: string;
  statusCode?: number;
  validation?: Array<{ keyword: string; instancePath: string; params: object; message?: string }>;
}

/** What of the request turning an error into an AppError needs: its log, and whether the client hung up. */
export interface RequestOfError {
  log: { info(detail: object, message: string): void; error(detail: object, message: string): void };
  raw: { readableAborted: boolean };
}

/**
 * Turns any error into an AppError: ours pass through, Fastify's validation and parsing
 * errors become `validation_failed` and friends, anything else is `internal` (and logged).
 */
export function toAppError(error: unknown, request: RequestOfError): AppError {
  if (isAppError(error)) return error;
  const e = (error ?? {}) as FrameworkError;
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
  const framework = requestError(e, request);
  if (framework) return framework;
  request.log.error({ err: { name: e.name, message: e.message, stack: e.stack } }, 'unhandled error');
  return new AppError('internal');
}

/** Codes of a connection the client closed or reset while its request was being read. */
const CLIENT_GONE = new Set(['ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ERR_STREAM_PREMATURE_CLOSE', 'FST_MP_PREMATURE_CLOSE']);

/**
 * Errors about the request itself, raised by Fastify, its plugins or the body parsers: a
 * 4xx status, or a client that went away. Their messages may echo the input (the path, a
 * field name), so only their meaning is kept; they are the caller's doing, not ours, so
 * nothing is logged as an error.
 */
function requestError(e: FrameworkError, request: RequestOfError): AppError | undefined {
  if (CLIENT_GONE.has(e.code ?? '') || request.raw.readableAborted) {
    request.log.info({ event: 'request.aborted', code: e.code }, 'the client closed the connection before its request was read');
    return new AppError('validation_failed', 'The request did not arrive whole');
  }
  switch (e.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError('unsupported_media_type', 'Send the body as application/json or application/x-www-form-urlencoded');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new AppError('validation_failed', 'The body is not valid JSON');
  }
  const status = e.statusCode;
  if (typeof status !== 'number' || status < 400 || status >= 500) return undefined;
  if (e instanceof SyntaxError || (status === 400 && e.message?.includes('JSON'))) return new AppError('validation_failed', 'The body is not valid JSON');
  switch (status) {
    case 404:
      return new AppError('not_found');
    case 413:
      return new AppError('payload_too_large');
    case 406:
    case 415:
      return new AppError('unsupported_media_type');
    case 414:
      return new AppError('validation_failed', 'The URL is too long');
    case 429:
      return new AppError('too_many_requests');
    default:
      return new AppError('validation_failed', e.code === 'FST_ERR_BAD_URL' ? 'The URL is not valid' : 'The request is not valid');
  }
}
