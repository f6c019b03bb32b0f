import { AppError } from '../kernel/errors.ts';
import { newUserId, userUuid } from '../kernel/ids.ts';
import type { UserRecord, UsersRepo } from '../storage/users-repo.ts';
import { parseEmail, parseLogin, parsePhone } from './contact.ts';
import { passwordProblem, type PasswordHasher } from './passwords.ts';

export interface NewUser {
  email?: string | undefined;
  phone?: string | undefined;
  password?: string | undefined;
}

/** Creating and changing people: every rule about what a valid user is lives here. */
export class UserService {
  readonly #users: UsersRepo;
  readonly #hasher: PasswordHasher;

  constructor(users: UsersRepo, hasher: PasswordHasher) {
    this.#users = users;
    this.#hasher = hasher;
  }

  async create(input: NewUser): Promise<UserRecord> {
    const { email, phone } = this.#contact(input);
    if (email && (await this.#users.findByEmail(email))) throw new AppError('conflict', 'A user with this email already exists');
    if (phone && (await this.#users.findByPhone(phone))) throw new AppError('conflict', 'A user with this phone number already exists');
    const passwordHash = input.password === undefined ? undefined : await this.#hash(input.password);
    return this.#users.insert({ id: newUserId(), email, phone, passwordHash });
  }

  /** For declarative import: the user found by email (else phone) is updated, or created. */
  async createOrUpdate(input: NewUser): Promise<{ user: UserRecord; created: boolean }> {
    const { email, phone } = this.#contact(input);
    const existing = (email && (await this.#users.findByEmail(email))) || (phone && (await this.#users.findByPhone(phone))) || undefined;
    if (!existing) return { user: await this.create(input), created: true };
    const passwordHash =
      input.password !== undefined && !(existing.passwordHash && (await this.#hasher.check(existing.passwordHash, input.password)).ok)
        ? await this.#hash(input.password)
        : undefined;
    const user = await this.#users.update(existing.id, { email, phone, passwordHash });
    return { user: user!, created: false };
  }

  /** The person an operator names: by user id (`usr:…`), email or phone number. */
  async find(name: string): Promise<UserRecord | undefined> {
    if (userUuid(name.trim())) return this.#users.findById(name.trim());
    const login = parseLogin(name);
    if (!login) return undefined;
    return 'email' in login ? this.#users.findByEmail(login.email) : this.#users.findByPhone(login.phone);
  }

  async setPassword(userId: string, password: string): Promise<void> {
    await this.#users.update(userId, { passwordHash: await this.#hash(password) });
  }

  #contact(input: NewUser): { email: string | undefined; phone: string | undefined } {
    const email = input.email === undefined ? undefined : parseEmail(input.email);
    const phone = input.phone === undefined ? undefined : parsePhone(input.phone);
    if (!email && !phone) {
      throw new AppError('validation_failed', 'A user needs an email or a phone number', {
        fields: [{ field: '/email', message: 'email or phone is required' }],
      });
    }
    return { email, phone };
  }

  async #hash(password: string): Promise<string> {
    const problem = passwordProblem(password);
    if (problem) throw new AppError('weak_password', `The password ${problem}`, { fields: [{ field: '/password', message: problem }] });
    return this.#hasher.hash(password);
  }
}
