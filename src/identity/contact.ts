import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { AppError } from '../kernel/errors.ts';

/**
 * Phone numbers are kept in E.164. Input must already be international (a leading +):
 * guessing a country for a national number is how accounts get crossed.
 */
export function parsePhone(input: string, field = 'phone'): string {
  const trimmed = input.trim();
  const parsed = trimmed.startsWith('+') ? parsePhoneNumberFromString(trimmed) : undefined;
  if (!parsed || !parsed.isValid()) {
    throw new AppError('invalid_phone', 'The phone number is not a valid international number (E.164, e.g. +14155552671)', {
      fields: [{ field: `/${field}`, message: 'must be a valid phone number in international format' }],
    });
  }
  return parsed.number;
}

/** A valid E.164 number, or undefined; for places that branch rather than fail. */
export function tryParsePhone(input: string): string | undefined {
  try {
    return parsePhone(input);
  } catch {
    return undefined;
  }
}

// Deliberately simple: one @, no spaces, a dot in the domain. Deliverability is proven by a
// code, not by a regular expression.
const EMAIL = /^[^\s@]{1,64}@[^\s@]+\.[^\s@]{2,}$/;

export function parseEmail(input: string, field = 'email'): string {
  const email = input.trim().toLowerCase();
  if (email.length > 254 || !EMAIL.test(email)) {
    throw new AppError('invalid_email', 'The email address is not valid', {
      fields: [{ field: `/${field}`, message: 'must be an email address' }],
    });
  }
  return email;
}

/** A sign-in name is an email or a phone number; which one is decided by its shape. */
export function parseLogin(username: string): { email: string } | { phone: string } | undefined {
  const trimmed = username.trim();
  if (trimmed.includes('@')) {
    try {
      return { email: parseEmail(trimmed) };
    } catch {
      return undefined;
    }
  }
  const phone = tryParsePhone(trimmed);
  return phone ? { phone } : undefined;
}
