import { hash, verify } from '@node-rs/argon2';

// @node-rs/argon2's Algorithm is a const enum, which type stripping cannot inline: 2 is Argon2id.
const ARGON2ID = 2;

export interface PasswordParams {
  memoryKiB: number;
  iterations: number;
  parallelism: number;
}

export interface PasswordCheck {
  ok: boolean;
  /** The hash was made with weaker parameters than the configured ones: store a new one. */
  needsRehash: boolean;
}

// The PHC string records the parameters each hash was made with: `$argon2id$v=19$m=…,t=…,p=…$salt$hash`.
const PHC_PARAMS = /^\$argon2id\$v=\d+\$m=(\d+),t=(\d+),p=(\d+)\$/;

/**
 * argon2id password hashing. The work runs on libuv's thread pool (an async N-API task),
 * never on the event loop.
 */
export class PasswordHasher {
  readonly params: PasswordParams;
  #dummyHash: Promise<string> | undefined;

  constructor(params: PasswordParams) {
    this.params = params;
  }

  hash(password: string): Promise<string> {
    return hash(password, {
      algorithm: ARGON2ID,
      memoryCost: this.params.memoryKiB,
      timeCost: this.params.iterations,
      parallelism: this.params.parallelism,
    });
  }

  async check(storedHash: string, password: string): Promise<PasswordCheck> {
    let ok = false;
    try {
      ok = await verify(storedHash, password);
    } catch {
      ok = false; // a malformed stored hash verifies nothing
    }
    return { ok, needsRehash: ok && this.isWeakerThanConfigured(storedHash) };
  }

  /**
   * Spends the same time as checking a real password, for unknown usernames, so the answer
   * time does not tell whether an account exists.
   */
  async checkAgainstNothing(password: string): Promise<void> {
    this.#dummyHash ??= this.hash('idflow-no-such-account');
    await this.check(await this.#dummyHash, password);
  }

  isWeakerThanConfigured(storedHash: string): boolean {
    const match = PHC_PARAMS.exec(storedHash);
    if (!match) return true;
    const [, m, t, p] = match.map(Number) as [number, number, number, number];
    return m < this.params.memoryKiB || t < this.params.iterations || p < this.params.parallelism;
  }
}

export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 256;

/** NIST 800-63B: length matters, composition rules do not. */
export function passwordProblem(password: string): string | undefined {
  if (password.length < MIN_PASSWORD_LENGTH) return `must be at least ${MIN_PASSWORD_LENGTH} characters`;
  if (password.length > MAX_PASSWORD_LENGTH) return `must be at most ${MAX_PASSWORD_LENGTH} characters`;
  return undefined;
}
