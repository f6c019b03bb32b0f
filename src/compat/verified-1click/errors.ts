import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppError, ErrorCode } from '../../kernel/errors.ts';
import { toAppError } from '../../kernel/to-app-error.ts';
import type { OneClickErrorDetails } from '../../one-click/errors.ts';

/**
 * Verified's error body, the Feathers shape: `{name, message, code, className, data:
 * {errorCode, additionalInputs?, inputAttemptsExceeded?, riskSignals?}}`, where `code` is
 * the HTTP status and `name`/`className` the Feathers class of that status. Callers branch
 * on `data.errorCode`, whose meanings are Verified's; where Verified's documentation names
 * no status, the one chosen is in docs/one-click.md.
 */
const FEATHERS: Record<number, { name: string; className: string }> = {
  400: { name: 'BadRequest', className: 'bad-request' },
  401: { name: 'NotAuthenticated', className: 'not-authenticated' },
  403: { name: 'Forbidden', className: 'forbidden' },
  404: { name: 'NotFound', className: 'not-found' },
  409: { name: 'Conflict', className: 'conflict' },
  410: { name: 'Gone', className: 'gone' },
  // Feathers has no class for these two; named in its style, as a FeathersError of that code is.
  413: { name: 'PayloadTooLarge', className: 'payload-too-large' },
  415: { name: 'UnsupportedMediaType', className: 'unsupported-media-type' },
  429: { name: 'TooManyRequests', className: 'too-many-requests' },
  500: { name: 'GeneralError', className: 'general-error' },
  503: { name: 'Unavailable', className: 'unavailable' },
};

interface Rendering {
  status: number;
  errorCode: string;
  message: string | ((details: OneClickErrorDetails) => string);
}

/**
 * Catalogue codes as the Verified API says them: Verified's OCE codes are this facade's
 * translation of the one catalogue (src/kernel/errors.ts). A code not listed is ERR001.
 */
export const OCE: Partial<Record<ErrorCode, Rendering>> = {
  unsupported_phone: { status: 400, errorCode: 'OCE002', message: 'Unsupported phone number to use 1-Click' },
  identifier_required: { status: 400, errorCode: 'OCE003', message: "Either 'phone' or 'email' is required" },
  mandatory_credentials_missing: { status: 400, errorCode: 'OCE007', message: 'Unable to use 1-click due to missing mandatory credentials' },
  invalid_code: { status: 400, errorCode: 'OCE008', message: 'Invalid or expired verification code' },
  code_required: { status: 400, errorCode: 'OCE009', message: 'Verification code is required' },
  additional_input_required: {
    status: 400,
    errorCode: 'OCE011',
    message: (d) => `Additional information is required to source data for user: ${(d.additionalInputs ?? []).join(', ')}`,
  },
  input_mismatch: {
    status: 400,
    errorCode: 'OCE012',
    message: (d) => (d.mismatched ?? []).map((i) => (i === 'birthDate' ? 'BirthDate mismatch' : 'SSN4 mismatch')).join(' and ') + '.',
  },
  nothing_found: { status: 400, errorCode: 'OCE013', message: 'No credentials found' },
  request_expired: { status: 410, errorCode: 'OCE014', message: '1-Click Request Expired' },
  // The flow engine's own answer to an expired flow, in the words of this door.
  flow_expired: { status: 410, errorCode: 'OCE014', message: '1-Click Request Expired' },
  request_not_found: { status: 404, errorCode: 'OCE015', message: '1-Click Not Found' },
  conflict: { status: 409, errorCode: 'OCE016', message: '1-Click Conflict Request for this Phone Number, Please Try Again' },
  risk_blocked: { status: 400, errorCode: 'OCE017', message: '1-Click Blocked: Risk Score Too High' },
  code_attempts_exceeded: { status: 429, errorCode: 'OCE018', message: 'Maximum code attempts exceeded. Please start a new 1-Click flow.' },
  input_attempts_exceeded: { status: 429, errorCode: 'OCE019', message: 'Maximum input attempts exceeded. Please try again later.' },
  not_configured: { status: 403, errorCode: 'OCE020', message: 'Brand cannot be used for 1-Click API' },
  declined: { status: 403, errorCode: 'OCE021', message: 'User Opted Out' },
  not_completed: { status: 409, errorCode: 'OCE001', message: 'The user has not completed this 1-Click request yet' },
  wrong_integration: { status: 400, errorCode: 'OCE001', message: (d) => d.explanation ?? 'Not available for this integration type' },
  redirect_url_required: { status: 400, errorCode: 'OCE001', message: 'A redirect URL is required: send redirectUrl or set the brand default' },
  sms_limited: { status: 429, errorCode: 'OCE001', message: 'Too many verification codes were sent to this phone; try again later' },
  invalid_input: { status: 400, errorCode: 'ERR001', message: (d) => d.explanation ?? 'Invalid request' },
  // The Hosted pages' own rule; the API never meets it.
  person_token_required: { status: 403, errorCode: 'OCE001', message: 'This request continues where the code was entered' },
};

/** A catalogue code Verified has a code for, in its words and with the facts its body carries. */
function sendOce(reply: FastifyReply, error: AppError, rendering: Rendering): FastifyReply {
  const details = error.details as OneClickErrorDetails;
  const message = typeof rendering.message === 'string' ? rendering.message : rendering.message(details);
  const { additionalInputs, inputAttemptsExceeded, riskSignals } = details;
  if (error.retryAfter) reply.header('retry-after', String(error.retryAfter));
  return send(reply, rendering.status, message, {
    errorCode: rendering.errorCode,
    ...(additionalInputs ? { additionalInputs } : {}),
    // Verified's type names the list `inputAttemptsExceeded`; its OCE019 examples show it
    // as `additionalInputs`. Both are sent, with the same list.
    ...(inputAttemptsExceeded ? { inputAttemptsExceeded, additionalInputs: inputAttemptsExceeded } : {}),
    ...(riskSignals ? { riskSignals } : {}),
  });
}

/** The 1-Click API's one error renderer: a catalogue code as its OCE code, anything else as ERR001. */
export function sendVerifiedError(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const appError = toAppError(error, request);
  const rendering = OCE[appError.code];
  return rendering ? sendOce(reply, appError, rendering) : sendGenericError(reply, appError);
}

/** Anything that is not a 1-Click reason (authentication, malformed requests, our own failures). */
export function sendGenericError(reply: FastifyReply, error: AppError): FastifyReply {
  if (error.retryAfter) reply.header('retry-after', String(error.retryAfter));
  const status = FEATHERS[error.status] ? error.status : error.status < 500 ? 400 : 500;
  const fields = error.fields.map((f) => `${f.field} ${f.message}`).join('; ');
  const message = status >= 500 ? error.publicMessage : fields ? `${error.publicMessage}: ${fields}` : error.publicMessage;
  return send(reply, status, message, { errorCode: 'ERR001' });
}

function send(reply: FastifyReply, status: number, message: string, data: Record<string, unknown>): FastifyReply {
  const feathers = FEATHERS[status] ?? FEATHERS[500]!;
  return reply.code(status).send({ name: feathers.name, message, code: status, className: feathers.className, data });
}

const CLIENT_SIDE_MESSAGE =
  'Your request was blocked by our firewall because your API key is being used client side. API keys must only be used server side. Please contact us if you believe this was in error.';

/** 418, Verified's firewall answer to a request made from a browser (an Origin header). */
export function sendClientSideBlocked(reply: FastifyReply, request: FastifyRequest): FastifyReply {
  request.log.warn({ event: 'one_click.client_side_key' }, 'API key used from a browser; request blocked');
  return reply.code(418).send({ error: 'Request blocked by firewall', message: CLIENT_SIDE_MESSAGE });
}
