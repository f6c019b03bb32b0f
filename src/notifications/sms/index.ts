import type { Logger } from 'pino';
import { ConfigError, type Config } from '../../config/index.ts';
import type { Clock } from '../../kernel/clock.ts';
import { DestinationPolicy } from './destination-policy.ts';
import { DevOutboxSender } from './dev-outbox-sender.ts';
import { DisabledSmsSender } from './disabled-sender.ts';
import { LimitedSmsSender } from './limited-sender.ts';
import type { LimitCatalogue } from '../../limits/catalogue.ts';
import type { Limits } from '../../limits/limits.ts';
import type { SmsSender } from './sender.ts';
import { TwilioSender } from './twilio-sender.ts';

export type { SmsMessage, SmsSender } from './sender.ts';
export { DevOutboxSender } from './dev-outbox-sender.ts';

export interface SmsSetup {
  /** What the core calls: the configured provider behind the destination policy and send limits. */
  sender: SmsSender;
  /** Only with the dev sender: read by GET /dev/sms-outbox. */
  outbox: DevOutboxSender | undefined;
}

/** Builds the SMS sender the configuration names, within the platform's send limits. */
export function createSmsSender(config: Config, clock: Clock, logger: Logger, limits: { limits: Limits; catalogue: LimitCatalogue['sms'] }): SmsSetup {
  const sms = config.sms;
  if (sms.sender === 'none') return { sender: new DisabledSmsSender(), outbox: undefined };
  let provider: SmsSender;
  let outbox: DevOutboxSender | undefined;
  if (sms.sender === 'dev') {
    // Checked again here, not only in loadConfig: a Config can be built by hand.
    if (config.env !== 'development') throw new ConfigError('IDFLOW_SMS_SENDER', 'must be twilio or none when IDFLOW_ENV=production (dev keeps codes in memory and in the log)');
    outbox = new DevOutboxSender(clock, logger);
    provider = outbox;
  } else {
    if (!sms.twilio) throw new ConfigError('IDFLOW_TWILIO_ACCOUNT_SID', 'is required with IDFLOW_SMS_SENDER=twilio');
    provider = new TwilioSender(sms.twilio, logger);
  }
  const limited = new LimitedSmsSender(provider, limits.limits, limits.catalogue, new DestinationPolicy(sms.allowedCountries), logger);
  return { sender: limited, outbox };
}
