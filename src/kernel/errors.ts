/**
 * One error type for the whole platform. Every error carries a stable `code` from the
 * catalogue below; the message may change, the code does not. `detail` is private: it is
 * logged (never with secrets) but never rendered to a caller.
 *
 * Each surface renders an AppError in its own shape, in exactly one place:
 * - native API: RFC 9457 problem+json (src/http/problem.ts)
 * - OAuth endpoints: {error, error_description} (oidc-provider's own renderer)
 * - compat facades: the vendor's documented shape (src/compat/<vendor>/errors.ts)
 */
export const ERROR_CATALOGUE = {
  validation_failed: { status: 400, title: 'The request is not valid' },
  invalid_phone: { status: 400, title: 'The phone number is not valid' },
  invalid_email: { status: 400, title: 'The email address is not valid' },
  weak_password: { status: 400, title: 'The password is too weak' },
  unauthenticated: { status: 401, title: 'Authentication is required' },
  invalid_credentials: { status: 401, title: 'The username or password is wrong' },
  forbidden: { status: 403, title: 'The caller may not do this' },
  not_found: { status: 404, title: 'Not found' },
  conflict: { status: 409, title: 'The resource already exists' },
  flow_conflict: { status: 409, title: 'The flow was changed by another request' },
  invalid_transition: { status: 409, title: 'The flow cannot do that in its current state' },
  flow_expired: { status: 410, title: 'The flow has expired' },
  payload_too_large: { status: 413, title: 'The request body is too large' },
  unsupported_media_type: { status: 415, title: 'The content type is not supported' },
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

  constructor(
    code: ErrorCode,
    publicMessage?: string,
    options: { detail?: string; fields?: FieldProblem[]; retryAfter?: number; cause?: unknown } = {},
  ) {
    const entry = ERROR_CATALOGUE[code];
    super(publicMessage ?? entry.title, { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = entry.status;
    this.publicMessage = publicMessage ?? entry.title;
    this.detail = options.detail;
    this.fields = options.fields ?? [];
    this.retryAfter = options.retryAfter;
  }
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError;
}
