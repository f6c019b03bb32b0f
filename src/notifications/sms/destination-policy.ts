import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { AppError } from '../../kernel/errors.ts';

/**
 * Where an SMS may go. The number must already be strict E.164 (callers normalise with
 * src/identity/contact.ts; a number that is not is a bug upstream or a crafted input), and,
 * when the operator lists countries, belong to one of them: SMS pumping fraud lives on
 * expensive destinations an operator never serves.
 */
export class DestinationPolicy {
  readonly #allowedCountries: ReadonlySet<string> | undefined;

  /** `allowedCountries`: ISO 3166-1 alpha-2 codes; undefined allows every country. */
  constructor(allowedCountries?: readonly string[]) {
    this.#allowedCountries = allowedCountries?.length ? new Set(allowedCountries) : undefined;
  }

  check(to: string): void {
    const parsed = parsePhoneNumberFromString(to);
    if (!parsed || !parsed.isValid() || parsed.number !== to) {
      throw new AppError('invalid_phone', 'The phone number is not a valid international number (E.164, e.g. +14155552671)', {
        fields: [{ field: '/phone', message: 'must be a valid phone number in E.164 format' }],
      });
    }
    // Non-geographic numbers (+800, +882…) have no country and so never match a list.
    if (this.#allowedCountries && !(parsed.country && this.#allowedCountries.has(parsed.country))) {
      throw new AppError('invalid_phone', 'SMS cannot be sent to phone numbers of this country', {
        detail: `destination country ${parsed.country ?? 'none'} is not in IDFLOW_SMS_ALLOWED_COUNTRIES`,
        fields: [{ field: '/phone', message: 'this country is not served' }],
      });
    }
  }
}
