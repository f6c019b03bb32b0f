import type { Config } from '../config/index.ts';
import type { LimitDefinition } from './limits.ts';

/**
 * Every limit of the platform, in one place, from the configuration. A module that counts
 * something is handed its entries; docs/limits.md explains each one.
 */
export function limitCatalogue(config: {
  signInThrottle: Config['signInThrottle'];
  sms: Pick<Config['sms'], 'limits'>;
  verificationStarts: Config['verificationStarts'];
}) {
  const signIn = config.signInThrottle;
  const sms = config.sms.limits;
  const starts = config.verificationStarts;
  const define = (name: string, points: number, durationSeconds: number): LimitDefinition => ({ name, points, durationSeconds });
  return {
    signIn: {
      /** Failed sign-ins of one account from one address: the tight limit a guesser meets. */
      accountFromAddress: define('signin_account_address', signIn.accountIpFailures, signIn.windowSeconds),
      /** Failed sign-ins of one account from everywhere: a ceiling for guessing spread over many addresses. */
      account: define('signin_account', signIn.accountFailures, signIn.windowSeconds),
      /** Failed sign-ins from one address, whatever the account (password spraying, credential stuffing). */
      address: define('signin_address', signIn.ipFailures, signIn.windowSeconds),
    },
    sms: {
      phonePer10Min: define('sms_phone_10m', sms.phonePer10Min, 600),
      phonePerDay: define('sms_phone_day', sms.phonePerDay, 86_400),
      clientPerHour: define('sms_client_1h', sms.clientPerHour, 3600),
    },
    verificationStart: {
      perAddress: define('verification_start_address', starts.perIpPerHour, 3600),
      perClient: define('verification_start_client', starts.perClientPerHour, 3600),
    },
  } as const;
}

export type LimitCatalogue = ReturnType<typeof limitCatalogue>;
