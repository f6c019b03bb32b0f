/**
 * One error type for the whole platform, with one catalogue of codes. Every error carries a
 * stable `code` from the catalogue below; the message may change, the code does not.
 * `detail` is private: it is logged (never with secrets) but never rendered to a caller.
 * `details` are facts a renderer may show beside the code (which inputs are missing, how
 * many tries are left), each surface as its shape has room for them.
 *
 * Each surface renders an AppError in its own shape, in exactly one place (docs/errors.md
 * lists which code each surface answers with):
 * - native API: RFC 9457 problem+json (src/http/problem.ts)
 * - OAuth endpoints: {error, error_description} (src/http/oauth-mount.ts before the engine,
 *   oidc-provider's renderer inside it)
 * - compat facades: the vendor's documented shape, its codes a translation of these
 *   (src/compat/<vendor>/errors.ts)
 * - hosted pages: a worded page with a way back (src/ui/error-page.ts)
 *
 * The status is the native answer's; a surface whose contract names another keeps its own.
 */
export const ERROR_CATALOGUE = {
  // ── The request ────────────────────────────────────────────────────────────────────────
  validation_failed: { status: 400, title: 'The request is not valid' },
  invalid_phone: { status: 400, title: 'The phone number is not valid' },
  invalid_email: { status: 400, title: 'The email address is not valid' },
  weak_password: { status: 400, title: 'The password is too weak' },
  payload_too_large: { status: 413, title: 'The request body is too large' },
  unsupported_media_type: { status: 415, title: 'The content type is not supported' },
  not_found: { status: 404, title: 'Not found' },

  // ── Who is calling ─────────────────────────────────────────────────────────────────────
  unauthenticated: { status: 401, title: 'Authentication is required' },
  invalid_credentials: { status: 401, title: 'The username or password is wrong' },
  /** An application that is unknown, or did not prove it is the one it names. */
  invalid_client: { status: 401, title: 'The client is unknown or did not authenticate' },
  /** A bearer token that is unknown, expired or revoked. */
  invalid_token: { status: 401, title: 'The token is invalid, expired or revoked' },
  forbidden: { status: 403, title: 'The caller may not do this' },
  /** A known application that is not enabled for what it asks. */
  unauthorized_client: { status: 403, title: 'The client may not use this' },
  /** A return address the application did not register. */
  invalid_redirect_uri: { status: 400, title: 'The redirect URI is not one the client registered' },

  // ── Flows (any kind: sign-in, 1-Click, Web KYC, verification) ──────────────────────────
  conflict: { status: 409, title: 'The resource already exists' },
  flow_conflict: { status: 409, title: 'The flow was changed by another request' },
  invalid_transition: { status: 409, title: 'The flow cannot do that in its current state' },
  flow_expired: { status: 410, title: 'The flow has expired' },
  /** A flow's page opened in a browser other than the one that started it. */
  other_browser: { status: 403, title: 'The flow belongs to another browser' },
  /** A single-use code that is wrong, expired or already used. */
  invalid_code: { status: 400, title: 'The code is wrong, expired or already used' },
  code_required: { status: 400, title: 'A code is required' },
  code_attempts_exceeded: { status: 429, title: 'Too many wrong codes; start again' },
  declined: { status: 403, title: 'The person declined' },
  not_completed: { status: 409, title: 'The person has not finished yet' },
  /** A check of the person failed (the reasons are in `details`). */
  verification_failed: { status: 422, title: 'The identity could not be verified' },

  // ── Sharing a person's data (1-Click) ──────────────────────────────────────────────────
  unsupported_phone: { status: 400, title: 'The phone number cannot be used here' },
  identifier_required: { status: 400, title: 'A phone number or an email address is required' },
  not_configured: { status: 403, title: 'The client is not set up for this' },
  wrong_integration: { status: 400, title: 'Not available for this integration type' },
  redirect_url_required: { status: 400, title: 'A redirect URL is required' },
  mandatory_credentials_missing: { status: 400, title: 'Required data is missing' },
  additional_input_required: { status: 400, title: 'More information from the person is required' },
  input_mismatch: { status: 400, title: 'What the person entered does not match the records' },
  input_attempts_exceeded: { status: 429, title: 'Too many tries; try again later' },
  invalid_input: { status: 400, title: 'What was entered is not valid' },
  nothing_found: { status: 400, title: 'No data was found for this person' },
  request_expired: { status: 410, title: 'The request has expired' },
  request_not_found: { status: 404, title: 'No such request' },
  risk_blocked: { status: 400, title: 'Blocked: the risk score is too high' },
  person_token_required: { status: 403, title: 'This request continues where the code was entered' },
  sms_limited: { status: 429, title: 'Too many codes were sent to this phone; try again later' },

  // ── Limits and our side ────────────────────────────────────────────────────────────────
  too_many_requests: { status: 429, title: 'Too many attempts; try again later' },
  attempts_exhausted: { status: 429, title: 'No attempts are left; start again' },
  internal: { status: 500, title: 'Something went wrong on our side' },
  unavailable: { status: 503, title: 'The service is not ready' },
} as const;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export interface FieldProblem {
  /** JSON pointer-ish path of the offending field, e.g. "/phone". */
  field: string;
  message: string;
}

export interface AppErrorOptions {
  detail?: string | undefined;
  fields?: FieldProblem[] | undefined;
  retryAfter?: number | undefined;
  details?: object | undefined;
  cause?: unknown;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Safe to show to the caller. */
  readonly publicMessage: string;
  /** Private; for logs only. */
  readonly detail: string | undefined;
  readonly fields: FieldProblem[];
  /** Seconds, for 429 answers. */
  readonly retryAfter: number | undefined;
  /** Safe facts for renderers (see the module comment). */
  readonly details: Readonly<object>;

  constructor(code: ErrorCode, publicMessage?: string, options: AppErrorOptions = {}) {
    const entry = ERROR_CATALOGUE[code];
    super(publicMessage ?? entry.title, { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = entry.status;
    this.publicMessage = publicMessage ?? entry.title;
    this.detail = options.detail;
    this.fields = options.fields ?? [];
    this.retryAfter = options.retryAfter;
    this.details = options.details ?? {};
  }
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError;
}
