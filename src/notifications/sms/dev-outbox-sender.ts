import type { Logger } from 'pino';
import type { Clock } from '../../kernel/clock.ts';
import { maskPhone } from './mask.ts';
import type { SmsMessage, SmsSender } from './sender.ts';

export interface OutboxEntry {
  to: string;
  text: string;
  /** ISO 8601. */
  createdAt: string;
}

export interface DevOutboxOptions {
  /** Messages kept per phone; older ones drop off. */
  perPhone?: number;
  /** Phones kept; the least recently texted drops off, so a long session cannot grow memory. */
  maxPhones?: number;
}

/**
 * Development only: sends nothing, keeps the last messages per phone in memory and logs
 * each one, so a developer reads the code from the log or from GET /dev/sms-outbox.
 * The text (and so the code) is logged in clear: that is the point of this sender, and why
 * it may not be configured when IDFLOW_ENV=production (src/config and ./index.ts refuse it).
 */
export class DevOutboxSender implements SmsSender {
  readonly #byPhone = new Map<string, OutboxEntry[]>();
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #perPhone: number;
  readonly #maxPhones: number;

  constructor(clock: Clock, logger: Logger, options: DevOutboxOptions = {}) {
    this.#clock = clock;
    this.#logger = logger;
    this.#perPhone = options.perPhone ?? 10;
    this.#maxPhones = options.maxPhones ?? 1000;
  }

  async send(message: SmsMessage): Promise<void> {
    const entry: OutboxEntry = { to: message.to, text: message.text, createdAt: this.#clock.now().toISOString() };
    const list = this.#byPhone.get(message.to) ?? [];
    // Re-inserting moves the phone to the end of the Map's order: the first key is the stalest.
    this.#byPhone.delete(message.to);
    list.push(entry);
    if (list.length > this.#perPhone) list.splice(0, list.length - this.#perPhone);
    this.#byPhone.set(message.to, list);
    if (this.#byPhone.size > this.#maxPhones) this.#byPhone.delete(this.#byPhone.keys().next().value!);
    this.#logger.info({ to: maskPhone(message.to), text: message.text, clientId: message.clientId, purpose: message.purpose }, 'sms.outbox');
  }

  /** Oldest first. */
  messagesFor(phone: string): OutboxEntry[] {
    return [...(this.#byPhone.get(phone) ?? [])];
  }
}
