import type { Queryable } from './db.ts';

/**
 * Whose wrong inputs are counted together: one brand (client), in one environment, for one
 * phone (its blind index). Another brand, or the same brand's other environment, counts apart.
 */
export interface InputFailureKey {
  clientId: string;
  environment: string;
  subjectIndex: string;
}

/** Wrong additional inputs (birth date, SSN4) per brand, environment and phone, counted in a fixed window. */
export class OneClickInputFailuresRepo {
  readonly #db: Queryable;

  constructor(db: Queryable) {
    this.#db = db;
  }

  /** Failures still inside their window, by input name. */
  async current(key: InputFailureKey, now: Date): Promise<Map<string, number>> {
    const rows = await this.#db.query<{ input: string; failures: number }>(
      `select input, failures from one_click_input_failures
       where client_id = $1 and environment = $2 and subject_index = $3 and window_ends_at > $4`,
      [key.clientId, key.environment, key.subjectIndex, now],
    );
    return new Map(rows.map((r) => [r.input, r.failures]));
  }

  /** Counts one failure for each input; a window that has ended starts again at one. */
  async record(key: InputFailureKey, inputs: string[], now: Date, windowEndsAt: Date): Promise<void> {
    for (const input of inputs) {
      await this.#db.query(
        `insert into one_click_input_failures (client_id, environment, subject_index, input, failures, window_ends_at) values ($1, $2, $3, $4, 1, $6)
         on conflict (client_id, environment, subject_index, input) do update set
           failures = case when one_click_input_failures.window_ends_at > $5 then one_click_input_failures.failures + 1 else 1 end,
           window_ends_at = case when one_click_input_failures.window_ends_at > $5 then one_click_input_failures.window_ends_at else $6 end`,
        [key.clientId, key.environment, key.subjectIndex, input, now, windowEndsAt],
      );
    }
  }

  async purgeExpired(before: Date): Promise<number> {
    return (await this.#db.query('delete from one_click_input_failures where window_ends_at <= $1 returning 1', [before])).length;
  }
}
