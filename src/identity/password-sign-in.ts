import { AppError } from '../kernel/errors.ts';
import type { LimitCatalogue } from '../limits/catalogue.ts';
import { addressKey } from '../limits/client-address.ts';
import type { LimitUse, Limits } from '../limits/limits.ts';
import type { Clock } from '../kernel/clock.ts';
import type { EventsRepo } from '../storage/events-repo.ts';
import type { SecurityEvents } from '../telemetry/security-events.ts';
import type { UserRecord, UsersRepo } from '../storage/users-repo.ts';
import { parseLogin } from './contact.ts';
import type { PasswordHasher } from './passwords.ts';

/**
 * Checks a username and password. Every door that signs people in with a password (the
 * hosted login page, the OAuth password grant, Vault's /reg/auth/token) comes through here,
 * so the rules are the same everywhere:
 * - a wrong username and a wrong password fail alike, in the same time;
 * - every attempt takes a point before the password is hashed, so racing requests cannot
 *   get more guesses than the limit; a successful one gives its point back;
 * - attempts are counted per account and client address (tight), per account (a much
 *   higher ceiling) and per address, so someone guessing from one address never locks the
 *   owner out from another (docs/limits.md);
 * - a hash made with weaker parameters than configured is replaced on success;
 * - a success is recorded as `sign_in.completed`, with the door and the client it came through;
 *   a wrong username or password as `sign_in.failed` (the same reason for both), a refusal by
 *   the limits as `limit.exceeded` (SecurityEvents: with a log line and a metric each).
 */

/** Which door a password sign-in came through, and for which client (none: the person's own account pages). */
export interface SignInDoor {
  via: 'login_page' | 'password_grant' | 'account';
  clientId?: string | undefined;
}
export class PasswordSignIn {
  readonly #users: UsersRepo;
  readonly #hasher: PasswordHasher;
  readonly #limits: Limits;
  readonly #catalogue: LimitCatalogue['signIn'];
  readonly #events: EventsRepo;
  readonly #clock: Clock;
  readonly #security: SecurityEvents | undefined;

  constructor(users: UsersRepo, hasher: PasswordHasher, limits: Limits, catalogue: LimitCatalogue['signIn'], events: EventsRepo, clock: Clock, security?: SecurityEvents) {
    this.#users = users;
    this.#hasher = hasher;
    this.#limits = limits;
    this.#catalogue = catalogue;
    this.#events = events;
    this.#clock = clock;
    this.#security = security;
  }

  /** `door`: every door names itself; a check without one (a script, a test) records no door. */
  async verify(username: string, password: string, ip: string, door?: SignInDoor): Promise<UserRecord> {
    const login = parseLogin(username);
    const user = login && ('email' in login ? await this.#users.findByEmail(login.email) : await this.#users.findByPhone(login.phone));
    // An account is counted as one whichever of its names (email, phone) is typed. A name
    // that is no account is counted under itself: guesses against it are limited alike, and
    // the answers do not tell the two apart (the store only sees keyed hashes).
    const account = user ? `user:${user.id}` : `name:${login ? Object.values(login)[0] : username.trim().toLowerCase()}`;
    const address = addressKey(ip);
    const pair: LimitUse = { limit: this.#catalogue.accountFromAddress, key: `${account}|${address}` };
    const others: LimitUse[] = [
      { limit: this.#catalogue.account, key: account },
      { limit: this.#catalogue.address, key: address },
    ];
    const verdict = await this.#limits.consume([pair, ...others], { clientId: door?.clientId });
    if (!verdict.allowed) {
      this.#security?.signInThrottled();
      throw new AppError('too_many_requests', 'Too many failed sign-in attempts; try again later', { retryAfter: verdict.retryAfter });
    }

    // Both ways of failing record the same, so neither the answer nor its time tells them apart.
    const fail = async () => {
      await this.#security?.signInFailed({ clientId: door?.clientId, via: door?.via });
      return invalidCredentials();
    };
    if (!user?.passwordHash) {
      await this.#hasher.checkAgainstNothing(password);
      throw await fail();
    }
    const check = await this.#hasher.check(user.passwordHash, password);
    if (!check.ok) throw await fail();

    // The owner got in from here: what was guessed from this address is forgiven, and this
    // attempt does not count against the account or the address.
    await this.#limits.settle({ reset: [pair], refund: others });
    if (check.needsRehash) await this.#users.update(user.id, { passwordHash: await this.#hasher.hash(password) });
    this.#security?.signInSucceeded();
    await this.#events.record({ type: 'sign_in.completed', userId: user.id, clientId: door?.clientId, payload: { method: 'password', ...(door ? { via: door.via } : {}) } }, this.#clock.now());
    return user;
  }
}

function invalidCredentials(): AppError {
  return new AppError('invalid_credentials', 'The username or password is wrong');
}
