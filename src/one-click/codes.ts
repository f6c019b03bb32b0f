import { isAppError } from '../kernel/errors.ts';
import { constantTimeEqual } from '../kernel/secrets.ts';
import { OneClickError } from './errors.ts';
import type { OneClickFlow } from './flow.ts';
import type { OneClickRequests } from './requests.ts';

/** Codes live 5 minutes and allow 3 attempts (the flow's `maxAttempts`), as Verified documents. */
export const CODE_LIFETIME_SECONDS = 300;

/**
 * The code a Hosted or Semi-Hosted request sends: stored only as a hash, checked with the
 * flow engine counting the wrong ones.
 */
export class OneClickCodes {
  readonly #requests: OneClickRequests;

  constructor(requests: OneClickRequests) {
    this.#requests = requests;
  }

  /** Keyed (blind-index key) and bound to the request: a database dump alone cannot test codes. */
  hash(lockToken: string, code: string): string {
    return this.#requests.d.sealer.index('one_click_code', `${lockToken}:${code}`);
  }

  /**
   * Checks a code: the flow when it is right and alive; otherwise a wrong attempt for the
   * engine to count (`OneClickRequests.failCode`); past the last one the request ends
   * (code_attempts_exceeded).
   */
  async check(flow: OneClickFlow, code: string): Promise<OneClickFlow> {
    const requests = this.#requests;
    if (requests.attemptsLeft(flow) === 0) return requests.fail(flow, 'code_attempts_exceeded');
    const matches = constantTimeEqual(this.hash(flow.context.lockToken, code.trim()), flow.data.codeHash ?? '');
    const live = flow.context.codeExpiresAt !== undefined && new Date(flow.context.codeExpiresAt) > requests.d.clock.now();
    if (matches && live) return flow;
    const { flow: counted, attemptsLeft } = await requests.failCode(flow);
    if (counted.state === 'failed') throw new OneClickError('code_attempts_exceeded', requests.risk(flow));
    throw new OneClickError('invalid_code', { attemptsRemaining: attemptsLeft });
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
