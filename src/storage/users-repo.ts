import { userIdFromUuid, userUuid } from '../kernel/ids.ts';
import type { Queryable } from './db.ts';
import { eventOfRows } from './events-repo.ts';
import type { Sealer } from './sealer.ts';

export interface UserRecord {
  id: string; // usr:<uuid>
  email: string | undefined;
  phone: string | undefined;
  passwordHash: string | undefined;
  createdAt: Date;
}

interface UserRow {
  id: string;
  email_sealed: string | null;
  phone_sealed: string | null;
  password_hash: string | null;
  created_at: Date;
}

const COLUMNS = 'id, email_sealed, phone_sealed, password_hash, created_at';

export class UsersRepo {
  readonly #db: Queryable;
  readonly #sealer: Sealer;

  constructor(db: Queryable, sealer: Sealer) {
    this.#db = db;
    this.#sealer = sealer;
  }

  /** A new user, and its `user.created` event in the same statement. */
  async insert(user: { id: string; email?: string | undefined; phone?: string | undefined; passwordHash?: string | undefined }): Promise<UserRecord> {
    const recorded = eventOfRows({ cte: 'added', userId: 'id' }, { type: 'user.created' }, undefined, 7);
    const [row] = await this.#db.query<UserRow>(
      `with added as (
         insert into users (id, email_sealed, email_index, phone_sealed, phone_index, password_hash)
         values ($1, $2, $3, $4, $5, $6) returning ${COLUMNS}
       ), ${recorded.sql}
       select * from added`,
      [
        userUuid(user.id),
        this.#sealer.sealOptional(user.email, 'users.email'),
        user.email ? this.#sealer.index('email', user.email) : null,
        this.#sealer.sealOptional(user.phone, 'users.phone'),
        user.phone ? this.#sealer.index('phone', user.phone) : null,
        user.passwordHash ?? null,
        ...recorded.params,
      ],
    );
    return this.#toRecord(row!);
  }

  async update(id: string, changes: { email?: string | undefined; phone?: string | undefined; passwordHash?: string | undefined }): Promise<UserRecord | undefined> {
    const sets: string[] = [];
    const params: unknown[] = [userUuid(id)];
    const set = (column: string, value: unknown) => {
      params.push(value);
      sets.push(`${column} = $${params.length}`);
    };
    if (changes.email !== undefined) {
      set('email_sealed', this.#sealer.seal(changes.email, 'users.email'));
      set('email_index', this.#sealer.index('email', changes.email));
    }
    if (changes.phone !== undefined) {
      set('phone_sealed', this.#sealer.seal(changes.phone, 'users.phone'));
      set('phone_index', this.#sealer.index('phone', changes.phone));
    }
    if (changes.passwordHash !== undefined) set('password_hash', changes.passwordHash);
    if (sets.length === 0) return this.findById(id);
    // A different email or phone is news (`user.updated`, never with the value); a rehashed
    // password, or the same address written again (the import file), is not.
    const recorded = eventOfRows({ cte: 'news', userId: 'id' }, { type: 'user.updated' }, undefined, params.length + 1);
    const [row] = await this.#db.query<UserRow>(
      `with was as (select email_index, phone_index from users where id = $1),
       changed as (update users set ${sets.join(', ')}, updated_at = now() where id = $1 returning ${COLUMNS}, email_index, phone_index),
       news as (select changed.id from changed, was where changed.email_index is distinct from was.email_index or changed.phone_index is distinct from was.phone_index),
       ${recorded.sql}
       select * from changed`,
      [...params, ...recorded.params],
    );
    return row ? this.#toRecord(row) : undefined;
  }

  async findById(id: string): Promise<UserRecord | undefined> {
    const uuid = userUuid(id);
    if (!uuid) return undefined;
    const [row] = await this.#db.query<UserRow>(`select ${COLUMNS} from users where id = $1`, [uuid]);
    return row ? this.#toRecord(row) : undefined;
  }

  async findByEmail(email: string): Promise<UserRecord | undefined> {
    const [row] = await this.#db.query<UserRow>(`select ${COLUMNS} from users where email_index = $1`, [this.#sealer.index('email', email)]);
    return row ? this.#toRecord(row) : undefined;
  }

  async findByPhone(phone: string): Promise<UserRecord | undefined> {
    const [row] = await this.#db.query<UserRow>(`select ${COLUMNS} from users where phone_index = $1`, [this.#sealer.index('phone', phone)]);
    return row ? this.#toRecord(row) : undefined;
  }

  async count(): Promise<number> {
    const [row] = await this.#db.query<{ n: number }>('select count(*)::int as n from users');
    return row!.n;
  }

  #toRecord(row: UserRow): UserRecord {
    return {
      id: userIdFromUuid(row.id),
      email: this.#sealer.openOptional(row.email_sealed, 'users.email'),
      phone: this.#sealer.openOptional(row.phone_sealed, 'users.phone'),
      passwordHash: row.password_hash ?? undefined,
      createdAt: row.created_at,
    };
  }
}
