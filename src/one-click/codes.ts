import { Codes, defineCodeKind } from '../codes/codes.ts';
import { isAppError } from '../kernel/errors.ts';
import { numericCode } from '../kernel/ids.ts';
import type { CteOf } from '../storage/db.ts';
import { OneClickError } from './errors.ts';
import type { OneClickFlow } from './flow.ts';
import type { OneClickRequests } from './requests.ts';

/** Codes live 5 minutes and allow 3 attempts (the flow's `maxAttempts`), as Verified documents. */
export const CODE_LIFETIME_SECONDS = 300;

/**
 * The code a Hosted or Semi-Hosted request sends: one of the platform's codes (src/codes/),
 * tried only against its own request. Its tries are the request's attempts, which the flow
 * engine counts, so the code kind counts none of its own.
 */
export const oneClickCode = defineCodeKind({ purpose: 'one_click.code', lifetimeSeconds: CODE_LIFETIME_SECONDS, presented: 'with_flow', generate: () => numericCode(6) });

export class OneClickCodes {
  readonly #requests: OneClickRequests;

  constructor(requests: OneClickRequests) {
    this.#requests = requests;
  }

  /**
   * A code for the request being started, written with it (the flow's insert carries it):
   * `value` is a sandbox source's documented code, or a fresh one; it lives until `expiresAt`.
   */
  issueWith(value: string | undefined, expiresAt: Date): { value: string; also: (flowId: string) => CteOf } {
    const code = value ?? oneClickCode.generate();
    return { value: code, also: (flowId) => this.#codes.issueWith(oneClickCode, { flowId, value: code, expiresAt }).also };
  }

  /**
   * Checks a code: the flow when it is right and alive (the code is then spent, in the same
   * statement that tried it); otherwise a wrong attempt for the engine to count
   * (`OneClickRequests.failCode`); past the last one the request ends (code_attempts_exceeded).
   */
  async check(flow: OneClickFlow, code: string): Promise<OneClickFlow> {
    const requests = this.#requests;
    if (requests.attemptsLeft(flow) === 0) return requests.fail(flow, 'code_attempts_exceeded');
    const checked = await this.#codes.check(oneClickCode, flow.id, code.trim());
    // The right code again, on a request that did not move on after it (a step that was
    // refused): it is still this person's, as before the code was spent.
    if (checked.ok || (checked.problem === 'used' && checked.same)) return flow;
    const { flow: counted, attemptsLeft } = await requests.failCode(flow);
    if (counted.state === 'failed') throw new OneClickError('code_attempts_exceeded', requests.risk(flow));
    throw new OneClickError('invalid_code', { attemptsRemaining: attemptsLeft });
  }

  get #codes(): Codes {
    return this.#requests.d.codes;
  }

  /** Texts the code (and the link that carries it, Hosted); a request whose code cannot go out ends. */
  async send(flow: OneClickFlow, code: string, url: string | undefined): Promise<void> {
    const requests = this.#requests;
    const text = `Enter this code to verify for ${flow.context.brandName}: ${code}${url ? `\n${url}&code=${code}` : ''}`;
    try {
      if (!requests.d.sms) throw new Error('no SMS sender is configured');
      await requests.d.sms.send({ to: flow.data.phone, text, clientId: flow.clientId!, purpose: 'verification_code' });
    } catch (error) {
      // No code reached the person: the request cannot go on, and must not hold the phone.
      const failed = await requests.move(flow, 'failed', { context: { ...flow.context, failure: { reason: 'sms_limited' } } });
      await requests.releaseLock(failed);
      if (isAppError(error) && error.code === 'too_many_requests') throw new OneClickError('sms_limited', { retryAfter: error.retryAfter ?? 60 });
      requests.d.logger.error({ err: { message: (error as Error).message }, flowId: flow.id }, 'one_click.sms_failed');
      throw error;
    }
  }
}
