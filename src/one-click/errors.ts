import { AppError, type ErrorCode } from '../kernel/errors.ts';

/**
 * Why a 1-Click request cannot go on: codes of the one catalogue (src/kernel/errors.ts)
 * that the 1-Click core raises. Each door renders them in its own words (the Verified
 * facade as OCE codes, the Hosted pages as sentences); the codes are stable, the messages
 * are not.
 */
export const ONE_CLICK_REASONS = [
  'unsupported_phone',
  'identifier_required',
  'not_configured',
  'wrong_integration',
  'redirect_url_required',
  'mandatory_credentials_missing',
  'invalid_code',
  'code_required',
  'additional_input_required',
  'input_mismatch',
  'nothing_found',
  'request_expired',
  'request_not_found',
  'conflict',
  'risk_blocked',
  'code_attempts_exceeded',
  'input_attempts_exceeded',
  'declined',
  'not_completed',
  'sms_limited',
  'invalid_input',
  'person_token_required',
] as const satisfies readonly ErrorCode[];

export type OneClickReason = (typeof ONE_CLICK_REASONS)[number];

export type AdditionalInput = 'birthDate' | 'ssn4';

export interface RiskSignals {
  overall: { score: number; level: 'low' | 'medium-low' | 'medium' | 'medium-high' | 'high'; recommendation: 'allow' | 'flag' | 'block'; reasonCodes?: string[] };
  phone?: { carrier: { id: number; name: string }; reasonCodes: string[] };
  email?: { reasonCodes: string[] };
}

export interface OneClickErrorDetails {
  additionalInputs?: AdditionalInput[];
  inputAttemptsExceeded?: AdditionalInput[];
  /** Which inputs did not match (input_mismatch). */
  mismatched?: AdditionalInput[];
  riskSignals?: RiskSignals;
  /** Code attempts left after a wrong code. */
  attemptsRemaining?: number;
  /** Seconds, for sms_limited. */
  retryAfter?: number;
  /** Safe, caller-facing explanation of invalid_input / wrong_integration. */
  explanation?: string;
}

/**
 * An AppError raised by the 1-Click core: the same type every renderer takes, built from
 * one of its reasons with the facts its doors show (`details`). `reason` is its code.
 */
export class OneClickError extends AppError {
  declare readonly code: OneClickReason;
  declare readonly details: Readonly<OneClickErrorDetails>;

  constructor(reason: OneClickReason, details: OneClickErrorDetails = {}) {
    super(reason, undefined, { details, retryAfter: details.retryAfter });
  }

  get reason(): OneClickReason {
    return this.code;
  }
}

/** An error the 1-Click core raised (renderers go by its code, as for any AppError). */
export function isOneClickError(error: unknown): error is OneClickError {
  return error instanceof OneClickError;
}
