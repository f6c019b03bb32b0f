import type { Logger } from 'pino';
import { AppError } from '../../kernel/errors.ts';
import type { DestinationPolicy } from './destination-policy.ts';
import { maskPhone } from './mask.ts';
import type { SendCounter } from './send-counter.ts';
import type { SmsMessage, SmsSender } from './sender.ts';

export interface SmsLimits {
  phonePer10Min: number;
  phonePerDay: number;
  clientPerHour: number;
}

/**
 * Guards a sender against SMS pumping: the destination must pass the policy, and each
 * phone and each client has send budgets. A refused message is not sent and not counted.
 * An accepted one is counted before the provider answers, whatever it answers: an attacker
 * must not be able to buy more sends by making them fail.
 */
export class LimitedSmsSender implements SmsSender {
  readonly #inner: SmsSender;
  readonly #counter: SendCounter;
  readonly #limits: SmsLimits;
  readonly #policy: DestinationPolicy;
  readonly #logger: Logger;

  constructor(inner: SmsSender, counter: SendCounter, limits: SmsLimits, policy: DestinationPolicy, logger: Logger) {
    this.#inner = inner;
    this.#counter = counter;
    this.#limits = limits;
    this.#policy = policy;
    this.#logger = logger;
  }

  async send(message: SmsMessage): Promise<void> {
    this.#policy.check(message.to);
    const result = await this.#counter.consume([
      { key: `sms:phone:10m:${message.to}`, limit: this.#limits.phonePer10Min, windowSeconds: 600 },
      { key: `sms:phone:day:${message.to}`, limit: this.#limits.phonePerDay, windowSeconds: 86_400 },
      { key: `sms:client:1h:${message.clientId}`, limit: this.#limits.clientPerHour, windowSeconds: 3600 },
    ]);
    if (!result.allowed) {
      // Which budget ran out, without the number itself: the key's scope and window only.
      const rule = result.key.split(':').slice(1, 3).join(':');
      this.#logger.warn({ to: maskPhone(message.to), clientId: message.clientId, rule, retryAfter: result.retryAfter }, 'sms.limited');
      throw new AppError('too_many_requests', 'Too many messages were sent; try again later', { retryAfter: result.retryAfter, detail: `sms limit ${rule}` });
    }
    await this.#inner.send(message);
  }
}
