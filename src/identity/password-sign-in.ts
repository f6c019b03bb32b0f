import { AppError } from '../kernel/errors.ts';
import type { UserRecord, UsersRepo } from '../storage/users-repo.ts';
import { parseLogin } from './contact.ts';
import type { PasswordHasher } from './passwords.ts';
import type { FailureThrottle } from './throttle.ts';

export interface SignInLimits {
  accountFailures: number;
  ipFailures: number;
  windowSeconds: number;
}

/**
 * Checks a username and password. Every door that signs people in with a password (the
 * hosted login page, the OAuth password grant, Vault's /reg/auth/token) comes through here,
 * so the rules are the same everywhere:
 * - a wrong username and a wrong password fail alike, in the same time;
 * - failures are counted per account and per client IP; a blocked account blocks only
 *   itself, and a blocked IP only itself;
 * - a hash made with weaker parameters than configured is replaced on success.
 */
export class PasswordSignIn {
  readonly #users: UsersRepo;
  readonly #hasher: PasswordHasher;
  readonly #throttle: FailureThrottle;
  readonly #limits: SignInLimits;

  constructor(users: UsersRepo, hasher: PasswordHasher, throttle: FailureThrottle, limits: SignInLimits) {
    this.#users = users;
    this.#hasher = hasher;
    this.#throttle = throttle;
    this.#limits = limits;
  }

  async verify(username: string, password: string, ip: string): Promise<UserRecord> {
    const login = parseLogin(username);
    // The account key is the normalised username, so a lock works for unknown names too
    // and does not reveal whether the account exists.
    const accountKey = `account:${login ? Object.values(login)[0] : username.trim().toLowerCase()}`;
    const ipKey = `ip:${ip}`;
    const wait = Math.max(
      this.#throttle.blockedFor(accountKey, this.#limits.accountFailures),
      this.#throttle.blockedFor(ipKey, this.#limits.ipFailures),
    );
    if (wait > 0) throw new AppError('too_many_requests', 'Too many failed sign-in attempts; try again later', { retryAfter: wait });

    const user = login && ('email' in login ? await this.#users.findByEmail(login.email) : await this.#users.findByPhone(login.phone));
    if (!user?.passwordHash) {
      await this.#hasher.checkAgainstNothing(password);
      return this.#fail(accountKey, ipKey);
    }
    const check = await this.#hasher.check(user.passwordHash, password);
    if (!check.ok) return this.#fail(accountKey, ipKey);

    this.#throttle.reset(accountKey);
    if (check.needsRehash) await this.#users.update(user.id, { passwordHash: await this.#hasher.hash(password) });
    return user;
  }

  #fail(accountKey: string, ipKey: string): never {
    this.#throttle.recordFailure(accountKey, this.#limits.windowSeconds);
    this.#throttle.recordFailure(ipKey, this.#limits.windowSeconds);
    throw new AppError('invalid_credentials', 'The username or password is wrong');
  }
}
