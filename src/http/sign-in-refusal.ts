import { isAppError } from '../kernel/errors.ts';

/**
 * What a sign-in form tells the person when password sign-in refused them (every hosted
 * sign-in form: an application's login page, the account page); undefined for any other
 * error, which is not theirs to read.
 */
export function signInRefusal(error: unknown): { status: number; message: string; headers: Record<string, string> } | undefined {
  if (isAppError(error) && error.code === 'too_many_requests') {
    return { status: 429, message: 'Too many failed attempts. Wait a few minutes and try again.', headers: { 'retry-after': String(error.retryAfter) } };
  }
  if (isAppError(error) && error.code === 'invalid_credentials') return { status: 401, message: 'That email, phone number or password is not right.', headers: {} };
  return undefined;
}
