import { userUuid } from '../kernel/ids.ts';

/**
 * The `where` of an operator's listing (events, the audit log), built condition by
 * condition with numbered parameters, with the rules every listing shares: a name is exact,
 * or a prefix when it ends in `.`; a user id that is not one matches nothing.
 */
export class ListingFilter {
  readonly params: unknown[] = [];
  readonly #conditions: string[] = [];
  #nothing = false;

  /** A condition on the next parameter, `sql` given its placeholder. */
  add(sql: (placeholder: string) => string, value: unknown): this {
    this.params.push(value);
    this.#conditions.push(sql(`$${this.params.length}`));
    return this;
  }

  equals(column: string, value: string | undefined): this {
    return value === undefined ? this : this.add((p) => `${column} = ${p}`, value);
  }

  /** Exact, or every name starting with it when it ends in `.` (`one_click.`). */
  name(column: string, value: string | undefined): this {
    if (value === undefined) return this;
    return value.endsWith('.') ? this.add((p) => `starts_with(${column}, ${p})`, value) : this.add((p) => `${column} = ${p}`, value);
  }

  user(column: string, userId: string | undefined): this {
    if (userId === undefined) return this;
    const uuid = userUuid(userId);
    if (!uuid) this.#nothing = true;
    return uuid ? this.add((p) => `${column} = ${p}::uuid`, uuid) : this;
  }

  /** `since` inclusive, `until` exclusive. */
  period(column: string, since: Date | undefined, until: Date | undefined): this {
    if (since) this.add((p) => `${column} >= ${p}`, since);
    if (until) this.add((p) => `${column} < ${p}`, until);
    return this;
  }

  /** Rows older than the cursor's (ids only grow). */
  before(id: number | undefined): this {
    return id === undefined ? this : this.add((p) => `id < ${p}`, id);
  }

  /** True when no row can match: the listing need not ask the database. */
  get matchesNothing(): boolean {
    return this.#nothing;
  }

  /** `where …` (or nothing), then `limit` as the last parameter. */
  whereAndLimit(limit: number): string {
    this.params.push(limit);
    return `${this.#conditions.length ? `where ${this.#conditions.join(' and ')}` : ''} order by id desc limit $${this.params.length}`;
  }
}
