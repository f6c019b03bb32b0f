import { AppError } from '../kernel/errors.ts';
import { assertMove, type FlowDefinition } from './engine.ts';

/** A change decided on a record as it is now: the state it moves to (the same one for a change of data only). */
export interface Move<State extends string> {
  to: State;
}

/** How one kind of versioned record is read and written; `write` answers undefined when the record changed meanwhile. */
export interface VersionedStore<State extends string, R extends { state: string }, M extends Move<State>> {
  read(): Promise<R | undefined>;
  write(current: R, move: M): Promise<R | undefined>;
}

const ATTEMPTS = 5;

/**
 * The flow engine's executor for records kept outside the `flows` table (a verification):
 * read, decide (`decide` may refuse by throwing, or answer undefined for nothing to do),
 * check the move against the kind's transition table, write only from the version that was
 * read. When another request won the race the change is decided again on what it wrote, so
 * an idempotent decision (the same result twice) is not an error; after a few lost races,
 * `flow_conflict`.
 */
export async function changeVersioned<State extends string, R extends { state: string }, M extends Move<State>>(
  definition: FlowDefinition<State>,
  store: VersionedStore<State, R, M>,
  decide: (current: R) => M | undefined,
): Promise<{ record: R; from: State; move: M | undefined }> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const current = await store.read();
    if (!current) throw new AppError('not_found', `No such ${definition.kind}`);
    const from = current.state as State;
    const move = decide(current);
    if (!move) return { record: current, from, move };
    if (move.to !== from) assertMove(definition, from, move.to);
    const written = await store.write(current, move);
    if (written) return { record: written, from, move };
  }
  throw new AppError('flow_conflict', `The ${definition.kind} was changed by another request; try again`);
}
