import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { AppError } from '../../kernel/errors.ts';
import { maskPhone, maskPhonesIn } from './mask.ts';
import type { SmsMessage, SmsSender } from './sender.ts';

export interface TwilioOptions {
  accountSid: string;
  authToken: string;
  /** A Twilio number (E.164) or alphanumeric sender ID; at least one of from / messagingServiceSid. */
  from?: string;
  messagingServiceSid?: string;
  /** https://api.twilio.com unless pointed elsewhere (a regional edge, or a fake in tests). */
  baseUrl: string;
  timeoutMs?: number;
  retryDelayMs?: number;
}

/** The error body Twilio's REST API answers with on a 4xx or 5xx. */
interface TwilioError {
  code?: number;
  message?: string;
  more_info?: string;
  status?: number;
}

// Twilio codes that mean "this destination cannot get an SMS from us", as opposed to a
// fault in our account or request: 21211 invalid To, 21214 To unreachable, 21408 region not
// enabled, 21610 recipient unsubscribed, 21612 unroutable, 21614 not a mobile number.
const UNDELIVERABLE_DESTINATION = new Set([21211, 21214, 21408, 21610, 21612, 21614]);

/** One attempt's outcome, before deciding whether to retry. */
type Attempt =
  | { kind: 'sent'; sid: string | undefined; status: string | undefined }
  | { kind: 'rejected'; httpStatus: number; error: TwilioError; retryAfter: number | undefined }
  | { kind: 'transient'; reason: string };

/**
 * Sends through Twilio's Messages API: POST /2010-04-01/Accounts/{AccountSid}/Messages.json,
 * form-encoded To, From and/or MessagingServiceSid, Body; HTTP Basic AccountSid:AuthToken.
 *
 * A 4xx is an answer about this request and is never retried. A 5xx, a dropped connection or
 * a timeout is retried once: a second SMS with the same code is a lesser harm than none.
 * The auth token only ever goes into the Authorization header; errors and logs carry the
 * Twilio error code, the HTTP status and a phone-masked message.
 */
export class TwilioSender implements SmsSender {
  readonly #options: TwilioOptions;
  readonly #logger: Logger;
  readonly #endpoint: string;
  readonly #authorization: string;

  constructor(options: TwilioOptions, logger: Logger) {
    if (!options.from && !options.messagingServiceSid) throw new Error('TwilioSender needs a From number or a MessagingServiceSid');
    this.#options = options;
    this.#logger = logger;
    this.#endpoint = `${options.baseUrl.replace(/\/+$/, '')}/2010-04-01/Accounts/${encodeURIComponent(options.accountSid)}/Messages.json`;
    this.#authorization = `Basic ${Buffer.from(`${options.accountSid}:${options.authToken}`).toString('base64')}`;
  }

  async send(message: SmsMessage): Promise<void> {
    const form = new URLSearchParams({ To: message.to, Body: message.text });
    if (this.#options.from) form.set('From', this.#options.from);
    if (this.#options.messagingServiceSid) form.set('MessagingServiceSid', this.#options.messagingServiceSid);
    const log = { to: maskPhone(message.to), clientId: message.clientId, purpose: message.purpose, provider: 'twilio' };

    let attempt = await this.#attempt(form);
    if (attempt.kind === 'transient') {
      this.#logger.warn({ ...log, reason: attempt.reason }, 'sms.retry');
      await sleep(this.#options.retryDelayMs ?? 250);
      attempt = await this.#attempt(form);
    }

    switch (attempt.kind) {
      case 'sent':
        this.#logger.info({ ...log, sid: attempt.sid, status: attempt.status }, 'sms.sent');
        return;
      case 'transient':
        this.#logger.error({ ...log, reason: attempt.reason }, 'sms.failed');
        throw new AppError('unavailable', 'The SMS could not be sent; try again later', { detail: `twilio: ${attempt.reason}` });
      case 'rejected': {
        const { httpStatus, error } = attempt;
        const detail = `twilio HTTP ${httpStatus} code ${error.code ?? 'none'}: ${maskPhonesIn(String(error.message ?? '')).slice(0, 200)}`;
        if (httpStatus === 429) {
          this.#logger.warn({ ...log, detail }, 'sms.provider_limited');
          throw new AppError('too_many_requests', 'Too many messages; try again later', { detail, retryAfter: attempt.retryAfter ?? 60 });
        }
        if (error.code !== undefined && UNDELIVERABLE_DESTINATION.has(error.code)) {
          this.#logger.info({ ...log, detail }, 'sms.undeliverable');
          throw new AppError('invalid_phone', 'This phone number cannot receive SMS', { detail, fields: [{ field: '/phone', message: 'cannot receive SMS' }] });
        }
        // Bad credentials, a wrong sender, a suspended account: ours to fix, not the caller's.
        this.#logger.error({ ...log, detail }, 'sms.failed');
        throw new AppError('internal', undefined, { detail });
      }
    }
  }

  async #attempt(form: URLSearchParams): Promise<Attempt> {
    let response: Response;
    try {
      response = await fetch(this.#endpoint, {
        method: 'POST',
        headers: {
          authorization: this.#authorization,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: form.toString(),
        signal: AbortSignal.timeout(this.#options.timeoutMs ?? 5000),
        redirect: 'error',
      });
    } catch (error) {
      // Only the error's name and code: fetch errors never carry headers, but say so by construction.
      const err = error as { name?: string; cause?: { code?: string } };
      return { kind: 'transient', reason: err.name === 'TimeoutError' ? 'timeout' : `network ${err.cause?.code ?? err.name ?? 'error'}` };
    }
    let body: unknown;
    try {
      body = await response.json();
    } catch {
      body = undefined;
    }
    if (response.status >= 200 && response.status < 300) {
      const resource = (body ?? {}) as { sid?: unknown; status?: unknown };
      return {
        kind: 'sent',
        sid: typeof resource.sid === 'string' ? resource.sid : undefined,
        status: typeof resource.status === 'string' ? resource.status : undefined,
      };
    }
    if (response.status >= 500) return { kind: 'transient', reason: `HTTP ${response.status}` };
    const retryAfter = Number(response.headers.get('retry-after'));
    return {
      kind: 'rejected',
      httpStatus: response.status,
      error: (body && typeof body === 'object' ? body : {}) as TwilioError,
      retryAfter: Number.isInteger(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
    };
  }
}
