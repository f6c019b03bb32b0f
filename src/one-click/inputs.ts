import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import type { Environment } from './brand.ts';
import { isSandboxPhone } from './sources/sandbox-directory.ts';
import { OneClickError } from './errors.ts';
import { parseBirthDate } from './birth-date.ts';

const E164 = /^\+[1-9]\d{1,14}$/;

/**
 * A phone 1-Click can serve, in E.164, or OCE002's reason. Input must already be E.164 (as
 * documented: no guessing of a country). Coverage is US only (+1), as Verified's. In the
 * sandbox any well-formed +1 number is accepted: the documented test numbers are not all
 * numbers libphonenumber considers valid, and the sandbox must accept its own test users.
 */
export function oneClickPhone(input: string, environment: Environment): string {
  const phone = input.trim();
  if (!E164.test(phone)) throw new OneClickError('unsupported_phone');
  if (environment === 'sandbox') {
    if (!isSandboxPhone(phone)) throw new OneClickError('unsupported_phone');
    return phone;
  }
  const parsed = parsePhoneNumberFromString(phone);
  if (!parsed || !parsed.isValid() || parsed.countryCallingCode !== '1') throw new OneClickError('unsupported_phone');
  return parsed.number;
}

/** An empty string or null from a form is "not given", not a wrong value. */
export function given(value: string | null | undefined): string | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

/** A birth date given as YYYY-MM-DD or Unix milliseconds (see birth-date.ts), as YYYY-MM-DD. */
export function checkBirthDate(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const date = parseBirthDate(value);
  if (date === undefined) throw new OneClickError('invalid_input', { explanation: 'birthDate must be a date as YYYY-MM-DD or Unix milliseconds' });
  return date;
}

export function checkSsn4(value: string | undefined): string | undefined {
  if (value !== undefined && !/^\d{4}$/.test(value)) throw new OneClickError('invalid_input', { explanation: 'ssn4 must be 4 digits' });
  return value;
}

const EMAIL = /^[^\s@]{1,64}@[^\s@]+\.[^\s@]{2,}$/;

export function checkEmail(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const email = value;
  if (email.length > 254 || !EMAIL.test(email)) throw new OneClickError('invalid_input', { explanation: 'email must be an email address' });
  return email;
}
