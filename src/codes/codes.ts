import type { Clock } from '../kernel/clock.ts';
import { constantTimeEqual } from '../kernel/secrets.ts';
import type { CodeRecord, CodesRepo } from '../storage/codes-repo.ts';
import type { CteOf } from '../storage/db.ts';
import type { Sealer } from '../storage/sealer.ts';
import type { SecurityEvents } from '../telemetry/security-events.ts';

/**
 * A kind of code: what it is for, how long it lives, how its value is made, and how it is
 * presented. A long random value (a hand-over code, a token) is presented alone and found by
 * its hash; a short one a person types (an SMS code) is guessable, so it is only ever tried
 * against its own flow, a limited number of times.
 */
export type CodeKind = {
  /** Stored with each code and mixed into its hash: a value of one kind is never taken for another. */
  purpose: string;
  lifetimeSeconds: number;
  /** A fresh value from the CSPRNG. */
  generate: () => string;
} & (
  | { presented: 'alone' }
  /**
   * `maxAttempts`: tries the code allows. Leave it out when the flow the code belongs to
   * counts them (`FlowDefinition.maxAttempts`): each try is then counted once, by the flow.
   */
  | { presented: 'with_flow'; maxAttempts?: number }
);

export function defineCodeKind<K extends CodeKind>(kind: K): K {
  if (!/^[a-z0-9_.]+$/.test(kind.purpose)) throw new Error(`code kind ${kind.purpose}: a purpose is lower-case letters, digits, _ and .`);
  return kind;
}

interface NewCodeInput {
  flowId: string;
  subject?: string | undefined;
  binding?: string | undefined;
  value?: string | undefined;
  expiresAt?: Date | undefined;
}

/** What a code or token stands for, once it was accepted. */
export interface CodeHolder {
  flowId: string;
  clientId: string;
  subject: string | undefined;
}

export type Redeemed =
  | { ok: true; holder: CodeHolder; issued?: { value: string; expiresAt: Date } }
  /**
   * `unknown`: no such code, or another client's (which is not told apart). `reused`: the
   * code was used (or revoked) before: everything of its flow is now revoked.
   */
  | { ok: false; problem: 'unknown' | 'expired' | 'reused' | 'binding_mismatch'; holder?: CodeHolder };

export type Checked =
  | { ok: true }
  /**
   * The try was counted: the value was wrong, or the code had lapsed (its value is then not
   * compared). `attemptsLeft` more may be tried (0: the code is spent; Infinity when its flow
   * counts the tries).
   */
  | { ok: false; problem: 'wrong' | 'expired'; attemptsLeft: number }
  /**
   * The code was used (or revoked) before; `same` says whether the value presented is that
   * code, for a caller whose flow did not move on after the use.
   */
  | { ok: false; problem: 'used'; same: boolean }
  /** Nothing was tried: no code, or its tries are spent. */
  | { ok: false; problem: 'attempts_exceeded' | 'unknown' };

/**
 * The one mechanism for single-use codes and short-lived hand-over tokens, whatever the door
 * (Web KYC's code and token, 1-Click's SMS code). Values come from the CSPRNG and are stored
 * only as keyed hashes (HMAC with the platform's blind-index key), so a database dump holds
 * nothing that could be presented. Use, attempts and expiry are decided by one conditional
 * statement in the database, never by a read followed by a write; a code presented again
 * after its use revokes everything of its flow, as RFC 6749 §4.1.2 asks of OAuth codes.
 * A flow's move can ride along on each of these statements (`CteOf`), so a code is used and
 * its flow moved in one commit.
 */
export class Codes {
  readonly #repo: CodesRepo;
  readonly #sealer: Sealer;
  readonly #clock: Clock;
  readonly #security: SecurityEvents | undefined;

  /** `security`: where a code presented again is reported (log line, metric, `token.reuse_detected`). */
  constructor(repo: CodesRepo, sealer: Sealer, clock: Clock, security?: SecurityEvents) {
    this.#repo = repo;
    this.#sealer = sealer;
    this.#clock = clock;
    this.#security = security;
  }

  /**
   * A new code for a flow; the value is returned once and never stored. `binding` is what must
   * be presented with it (a redirect URI); `subject` what it leads to (not secret). `value`
   * replaces the generated one for sandbox sources that document a fixed code; `expiresAt`
   * the kind's lifetime for a code that must not outlive its flow.
   */
  async issue(kind: CodeKind, input: NewCodeInput & { clientId: string }): Promise<{ value: string; expiresAt: Date }> {
    const { value, code } = this.#made(kind, input);
    await this.#repo.insert({ ...code, flowId: input.flowId, clientId: input.clientId });
    return { value, expiresAt: code.expiresAt };
  }

  /**
   * The same for a flow being written: the insert rides on the flow's own statement (`also`,
   * for its rows), so the flow and its code are one write.
   */
  issueWith(kind: CodeKind, input: NewCodeInput): { value: string; expiresAt: Date; also: CteOf } {
    const { value, code } = this.#made(kind, input);
    return { value, expiresAt: code.expiresAt, also: (rows, firstParam) => this.#repo.insertOf(rows, code, firstParam) };
  }

  #made(kind: CodeKind, input: NewCodeInput) {
    const now = this.#clock.now();
    const value = input.value ?? kind.generate();
    const code = {
      hash: this.#hash(kind, value, input.flowId),
      purpose: kind.purpose,
      subject: input.subject,
      binding: this.#bindingHash(kind, input.binding),
      expiresAt: input.expiresAt ?? this.#expiry(kind, now),
      maxAttempts: kind.presented === 'with_flow' ? kind.maxAttempts : undefined,
      now,
    };
    return { value, code };
  }

  /**
   * Redeems a code presented alone, once: only an unused, unexpired, unrevoked code of this
   * client, with its binding, is used, and what it is exchanged for (`issue`: a token of the
   * same flow and subject) is written in the same statement, with `also` (the flow moved on).
   * A code used before revokes its flow's codes and tokens, with `onReuse` (the flow's move).
   * A wrong binding does not use the code up.
   */
  async redeem(
    kind: CodeKind & { presented: 'alone' },
    presented: { value: string; clientId: string; binding?: string | undefined },
    then: { issue?: CodeKind & { presented: 'alone' }; also?: (issued: { expiresAt: Date }) => CteOf; onReuse?: CteOf } = {},
  ): Promise<Redeemed> {
    const now = this.#clock.now();
    const hash = this.#hash(kind, presented.value);
    const binding = this.#bindingHash(kind, presented.binding) ?? null;
    const token = then.issue && { value: then.issue.generate(), expiresAt: this.#expiry(then.issue, now) };
    const used = await this.#repo.use(
      {
        hash,
        purpose: kind.purpose,
        clientId: presented.clientId,
        binding,
        now,
        issue: token && then.issue && { hash: this.#hash(then.issue, token.value), purpose: then.issue.purpose, expiresAt: token.expiresAt },
      },
      then.also?.({ expiresAt: token?.expiresAt ?? now }),
    );
    if (used) return { ok: true, holder: holderOf(used), ...(token ? { issued: token } : {}) };

    // Not used: say why. Use was decided above; this read only explains the refusal.
    const existing = await this.#repo.find(hash, kind.purpose);
    if (!existing || existing.clientId !== presented.clientId) return { ok: false, problem: 'unknown' };
    const holder = holderOf(existing);
    if (existing.usedAt || existing.revokedAt) {
      await this.revoke(existing.flowId, then.onReuse);
      await this.#security?.reuseDetected({ kind: kind.purpose, clientId: presented.clientId, flowId: existing.flowId });
      return { ok: false, problem: 'reused', holder };
    }
    if (existing.expiresAt <= now) return { ok: false, problem: 'expired', holder };
    if (existing.binding !== binding) return { ok: false, problem: 'binding_mismatch', holder };
    return { ok: false, problem: 'unknown' };
  }

  /**
   * Tries a value against the flow's code (a code a person types): the try is counted and,
   * when the code is live and the value right, the code used, in one statement; so the limit
   * holds however many tries race, and a right code is accepted once. A lapsed code counts
   * the try too, so waiting does not buy more guesses.
   */
  async check(kind: CodeKind & { presented: 'with_flow' }, flowId: string, value: string): Promise<Checked> {
    const hash = this.#hash(kind, value, flowId);
    const tried = await this.#repo.attempt({ flowId, purpose: kind.purpose, hash, now: this.#clock.now() });
    if (tried?.used) return { ok: true };
    if (tried) return { ok: false, problem: tried.live ? 'wrong' : 'expired', attemptsLeft: tried.maxAttempts === undefined ? Infinity : Math.max(0, tried.maxAttempts - tried.attempts) };
    const latest = await this.#repo.latestOf(flowId, kind.purpose);
    if (!latest) return { ok: false, problem: 'unknown' };
    if (latest.usedAt || latest.revokedAt) return { ok: false, problem: 'used', same: constantTimeEqual(latest.hash, hash) };
    return { ok: false, problem: 'attempts_exceeded' };
  }

  /** A live (unexpired, unrevoked) token's holder; `also` rides on the read (an event recording it). */
  async read(kind: CodeKind & { presented: 'alone' }, value: string, also?: CteOf): Promise<CodeHolder | undefined> {
    const found = await this.#repo.readLive(this.#hash(kind, value), kind.purpose, this.#clock.now(), also);
    return found && holderOf(found);
  }

  /** Revokes every code and token of a flow, with `also` (the flow's move) in the same statement. */
  async revoke(flowId: string, also?: CteOf): Promise<void> {
    await this.#repo.revokeFlow(flowId, this.#clock.now(), also);
  }

  /** A value presented alone is found by its hash; one tried against its flow is hashed with the flow, so equal short codes of two flows never collide. */
  #hash(kind: CodeKind, value: string, flowId?: string): string {
    return this.#sealer.index(kind.presented === 'with_flow' ? `code:${kind.purpose}:${flowId}` : `code:${kind.purpose}`, value);
  }

  #bindingHash(kind: CodeKind, binding: string | undefined): string | undefined {
    return binding === undefined ? undefined : this.#sealer.index(`code-binding:${kind.purpose}`, binding);
  }

  #expiry(kind: CodeKind, now: Date): Date {
    return new Date(now.getTime() + kind.lifetimeSeconds * 1000);
  }
}

function holderOf(code: CodeRecord): CodeHolder {
  return { flowId: code.flowId, clientId: code.clientId, subject: code.subject };
}
