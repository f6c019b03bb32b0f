/**
 * Why a 1-Click request cannot go on, as the core names it. Each door renders these in
 * its own words (the Verified facade as OCE codes, the Hosted pages as sentences); the
 * names are stable, the messages are not.
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
] as const;

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

export class OneClickError extends Error {
  readonly reason: OneClickReason;
  readonly details: OneClickErrorDetails;

  constructor(reason: OneClickReason, details: OneClickErrorDetails = {}) {
    super(reason);
    this.name = 'OneClickError';
    this.reason = reason;
    this.details = details;
  }
}

export function isOneClickError(error: unknown): error is OneClickError {
  return error instanceof OneClickError;
}
