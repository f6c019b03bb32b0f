import type { Logger } from 'pino';
import { AppError } from '../../kernel/errors.ts';
import type { DestinationPolicy } from './destination-policy.ts';
import { maskPhone } from './mask.ts';
import type { LimitCatalogue } from '../../limits/catalogue.ts';
import type { Limits } from '../../limits/limits.ts';
import type { SmsMessage, SmsSender } from './sender.ts';

/**
 * Guards a sender against SMS pumping: the destination must pass the policy, and each
 * phone and each client has send budgets (the platform's limits, shared by every node). A
 * refused message is not sent and not counted.
 * An accepted one is counted before the provider answers, whatever it answers: an attacker
 * must not be able to buy more sends by making them fail.
 */
export class LimitedSmsSender implements SmsSender {
  readonly #inner: SmsSender;
  readonly #limits: Limits;
  readonly #catalogue: LimitCatalogue['sms'];
  readonly #policy: DestinationPolicy;
  readonly #logger: Logger;

  constructor(inner: SmsSender, limits: Limits, catalogue: LimitCatalogue['sms'], policy: DestinationPolicy, logger: Logger) {
    this.#inner = inner;
    this.#limits = limits;
    this.#catalogue = catalogue;
    this.#policy = policy;
    this.#logger = logger;
  }

  async send(message: SmsMessage): Promise<void> {
    this.#policy.check(message.to);
    const verdict = await this.#limits.consume([
      { limit: this.#catalogue.phonePer10Min, key: message.to },
      { limit: this.#catalogue.phonePerDay, key: message.to },
      { limit: this.#catalogue.clientPerHour, key: message.clientId },
    ], { clientId: message.clientId });
    if (!verdict.allowed) {
      // Which budget ran out (the limit's name), with the number masked.
      this.#logger.warn({ to: maskPhone(message.to), clientId: message.clientId, limit: verdict.limit, retryAfter: verdict.retryAfter }, 'sms.limited');
      throw new AppError('too_many_requests', 'Too many messages were sent; try again later', { retryAfter: verdict.retryAfter, detail: `sms limit ${verdict.limit}` });
    }
    await this.#inner.send(message);
  }
}
