import type { Queryable } from './db.ts';

/** Wrong additional inputs (birth date, SSN4) per phone, counted in a fixed window. */
export class OneClickInputFailuresRepo {
  readonly #db: Queryable;

  constructor(db: Queryable) {
    this.#db = db;
  }

  /** Failures still inside their window, by input name. */
  async current(subjectIndex: string, now: Date): Promise<Map<string, number>> {
    const rows = await this.#db.query<{ input: string; failures: number }>(
      'select input, failures from one_click_input_failures where subject_index = $1 and window_ends_at > $2',
      [subjectIndex, now],
    );
    return new Map(rows.map((r) => [r.input, r.failures]));
  }

  /** Counts one failure for each input; a window that has ended starts again at one. */
  async record(subjectIndex: string, inputs: string[], now: Date, windowEndsAt: Date): Promise<void> {
    for (const input of inputs) {
      await this.#db.query(
        `insert into one_click_input_failures (subject_index, input, failures, window_ends_at) values ($1, $2, 1, $4)
         on conflict (subject_index, input) do update set
           failures = case when one_click_input_failures.window_ends_at > $3 then one_click_input_failures.failures + 1 else 1 end,
           window_ends_at = case when one_click_input_failures.window_ends_at > $3 then one_click_input_failures.window_ends_at else $4 end`,
        [subjectIndex, input, now, windowEndsAt],
      );
    }
  }

  async purgeExpired(before: Date): Promise<number> {
    return (await this.#db.query('delete from one_click_input_failures where window_ends_at <= $1 returning 1', [before])).length;
  }
}
