import type { FastifyReply, FastifyRequest } from 'fastify';
import { toAppError } from '../../kernel/to-app-error.ts';
import type { AppError, ErrorCode } from '../../kernel/errors.ts';

/**
 * Web KYC's API errors. Authenteq never published the Web KYC error body (the seed's
 * "errors" include is missing), so this door answers in the shape Authenteq documents for
 * its successor product, Web IDV: `{errorCode, errorMessage}`, with Web IDV's codes where
 * one fits and codes of the same style where none does. docs/web-kyc.md lists them.
 */
export const WEB_KYC_ERRORS = {
  MISSING_REQUEST_PARAMETER: 400,
  INVALID_REQUEST_PARAMETER: 400,
  /** The code is unknown, expired, already used or was issued to another client. */
  INVALID_CODE: 400,
  /** clientId unknown, clientSecret wrong, or the client is not enabled for Web KYC. */
  API_KEYS_INVALID: 401,
  /** No `Authorization: Bearer` token on /details. */
  TOKEN_MISSING: 401,
  /** The token is unknown, expired (15 minutes) or revoked. */
  TOKEN_INVALID: 401,
  /** A path under /v2/web-kyc/ that is not one of its endpoints. */
  NOT_FOUND: 404,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  INTERNAL_ERROR: 500,
} as const;

export type WebKycErrorCode = keyof typeof WEB_KYC_ERRORS;

function sendWebKycError(reply: FastifyReply, errorCode: WebKycErrorCode, errorMessage: string): FastifyReply {
  if (errorCode === 'TOKEN_MISSING') reply.header('www-authenticate', 'Bearer realm="web-kyc"');
  // RFC 6750 §3: the challenge says why a presented token was refused.
  if (errorCode === 'TOKEN_INVALID') reply.header('www-authenticate', 'Bearer realm="web-kyc", error="invalid_token"');
  return reply.code(WEB_KYC_ERRORS[errorCode]).header('cache-control', 'no-store').send({ errorCode, errorMessage });
}

/** A multipart token request past its limits: a file, or more parts than it has. */
export function isMultipartLimit(error: unknown): boolean {
  return ['FST_FILES_LIMIT', 'FST_PARTS_LIMIT', 'FST_FIELDS_LIMIT'].includes((error as { code?: string } | null)?.code ?? '');
}

/** The Web KYC API's one error renderer: any error escaping its routes, in Web KYC's shape. */
export function sendWebKycApiError(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (isMultipartLimit(error)) {
    return sendWebKycError(reply, 'INVALID_REQUEST_PARAMETER', 'The token request takes five text fields and no files');
  }
  return sendAppErrorAsWebKyc(reply, request, toAppError(error, request));
}

/**
 * Catalogue codes in Web KYC's words: its error codes are this facade's translation of the
 * one catalogue (src/kernel/errors.ts). The message is the error's public one; a code not
 * listed is INTERNAL_ERROR, its detail kept for the log.
 */
const AS_WEB_KYC: Partial<Record<ErrorCode, WebKycErrorCode>> = {
  invalid_redirect_uri: 'INVALID_REQUEST_PARAMETER',
  invalid_code: 'INVALID_CODE',
  invalid_client: 'API_KEYS_INVALID',
  unauthenticated: 'TOKEN_MISSING',
  invalid_token: 'TOKEN_INVALID',
};

/** An AppError in Web KYC's shape; internal detail stays in the log. */
export function sendAppErrorAsWebKyc(reply: FastifyReply, request: FastifyRequest, error: AppError): FastifyReply {
  const translated = AS_WEB_KYC[error.code];
  if (translated) return sendWebKycError(reply, translated, error.publicMessage);
  switch (error.code) {
    case 'validation_failed': {
      const field = error.fields[0];
      const name = field?.field.replace(/^\/+/, '').split('/')[0] || undefined;
      // AJV reports a missing property as `/<name>` with a "must have required property" message.
      const missing = field?.message.startsWith('must have required property');
      if (missing) return sendWebKycError(reply, 'MISSING_REQUEST_PARAMETER', `${name} is required`);
      return sendWebKycError(reply, 'INVALID_REQUEST_PARAMETER', name ? `${name} ${field!.message}` : error.publicMessage);
    }
    case 'payload_too_large':
      return sendWebKycError(reply, 'PAYLOAD_TOO_LARGE', 'The request body is too large');
    case 'unsupported_media_type':
      return sendWebKycError(reply, 'UNSUPPORTED_MEDIA_TYPE', 'Send the body as application/x-www-form-urlencoded, multipart/form-data or application/json');
    case 'not_found':
      return sendWebKycError(reply, 'NOT_FOUND', 'There is no such Web KYC endpoint');
    default:
      request.log.error({ code: error.code }, 'web kyc request failed');
      return sendWebKycError(reply, 'INTERNAL_ERROR', 'Something went wrong on our side');
  }
}
