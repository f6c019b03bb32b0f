import { randomUUID } from 'node:crypto';
import { AppError } from '../kernel/errors.ts';
import type { Clock } from '../kernel/clock.ts';
import type { CteOf } from '../storage/db.ts';
import type { FlowChanges, FlowEvent, FlowRecord, FlowsRepo } from '../storage/flows-repo.ts';

/**
 * A kind of flow: its states and the only moves allowed between them. Every change of
 * every flow goes through `FlowEngine.transition`, which checks this table, so a flow
 * cannot jump from `created` to `completed` because some handler forgot a check.
 */
export interface FlowDefinition<State extends string> {
  kind: string;
  initial: State;
  transitions: { readonly [S in State]: readonly State[] };
  /** Seconds a new flow lives unless `start` is told otherwise. */
  ttlSeconds: number;
}

export type Flow<Data, State extends string = string> = FlowRecord<Data> & { state: State };

export function defineFlow<State extends string>(definition: FlowDefinition<State>): FlowDefinition<State> {
  for (const [from, tos] of Object.entries(definition.transitions) as [State, readonly State[]][]) {
    for (const to of tos) {
      if (!(to in definition.transitions)) throw new Error(`flow ${definition.kind}: ${from} → ${to} names an unknown state`);
    }
  }
  return definition;
}

export function isTerminal<State extends string>(definition: FlowDefinition<State>, state: State): boolean {
  return definition.transitions[state].length === 0;
}

/** The one executor of flows of every kind: start, load (with expiry), transition, count attempts. */
export class FlowEngine {
  readonly #flows: FlowsRepo;
  readonly #clock: Clock;

  constructor(flows: FlowsRepo, clock: Clock) {
    this.#flows = flows;
    this.#clock = clock;
  }

  async start<State extends string, Data>(
    definition: FlowDefinition<State>,
    input: {
      clientId?: string | undefined;
      userId?: string | undefined;
      subjectIndex?: string | undefined;
      data: Data;
      context?: Record<string, unknown>;
      ttlSeconds?: number;
      /**
       * A state one allowed move away from the initial one, for a flow that is decided as it
       * starts (e.g. a 1-Click request the operator verified itself): one write, not two.
       */
      state?: State;
    },
  ): Promise<Flow<Data, State>> {
    if (input.state !== undefined && input.state !== definition.initial && !definition.transitions[definition.initial].includes(input.state)) {
      throw new AppError('invalid_transition', `A ${definition.kind} cannot start in ${input.state}`);
    }
    const now = this.#clock.now();
    const started = input.state !== undefined && input.state !== definition.initial ? { payload: { state: input.state } } : {};
    const flow = await this.#flows.insert({
      id: randomUUID(),
      kind: definition.kind,
      state: input.state ?? definition.initial,
      clientId: input.clientId,
      userId: input.userId,
      subjectIndex: input.subjectIndex,
      data: input.data,
      context: input.context ?? {},
      expiresAt: new Date(now.getTime() + (input.ttlSeconds ?? definition.ttlSeconds) * 1000),
      now,
    }, { type: `${definition.kind}.created`, ...started });
    return flow as Flow<Data, State>;
  }

  /**
   * The flow, or an error: `not_found` when there is none of this kind with this id,
   * `flow_expired` when it has expired (whatever its state).
   */
  async load<State extends string, Data>(definition: FlowDefinition<State>, id: string): Promise<Flow<Data, State>> {
    const flow = await this.#flows.findById<Data>(id, definition.kind);
    if (!flow) throw new AppError('not_found', 'No such flow');
    if (flow.expiresAt <= this.#clock.now()) throw new AppError('flow_expired', 'This flow has expired; start a new one');
    return flow as Flow<Data, State>;
  }

  /** Loads without the expiry check, for callers that answer expiry in their own words. */
  async find<State extends string, Data>(definition: FlowDefinition<State>, id: string): Promise<Flow<Data, State> | undefined> {
    return (await this.#flows.findById<Data>(id, definition.kind)) as Flow<Data, State> | undefined;
  }

  isExpired(flow: { expiresAt: Date }): boolean {
    return flow.expiresAt <= this.#clock.now();
  }

  /**
   * Moves the flow to `to` (or keeps its state when `to` is the same and only data
   * changes), if the table allows it and nobody changed the flow meanwhile.
   */
  async transition<State extends string, Data>(
    definition: FlowDefinition<State>,
    flow: Flow<Data, State>,
    to: State,
    changes: Omit<FlowChanges<Data>, 'state'> = {},
    event?: { type?: string; payload?: Record<string, unknown> },
  ): Promise<Flow<Data, State>> {
    if (to !== flow.state) assertMove(definition, flow.state, to);
    const now = this.#clock.now();
    const recorded = to !== flow.state || event ? moveEvent(definition, flow.state, to, event) : undefined;
    const updated = await this.#flows.update(flow, { ...changes, state: to }, now, recorded);
    if (!updated) throw new AppError('flow_conflict', 'The flow was changed by another request; try again');
    return updated as Flow<Data, State>;
  }

  /**
   * The same move as `transition`, for another repository's statement to carry (a code used
   * and its flow moved on, in one statement): it happens only if the flow is then in `from`.
   */
  moveWith<State extends string>(
    definition: FlowDefinition<State>,
    from: State,
    to: State,
    changes: { expiresAt?: Date } = {},
    event?: { type?: string; payload?: Record<string, unknown> },
  ): CteOf {
    assertMove(definition, from, to);
    const now = this.#clock.now();
    const recorded = moveEvent(definition, from, to, event);
    return (rows, firstParam) => this.#flows.advanceOf(rows, { kind: definition.kind, from, to, expiresAt: changes.expiresAt, event: recorded, now }, firstParam);
  }

  /** Counts one attempt (a code, an input) and returns the flow with the new count. */
  async countAttempt<State extends string, Data>(definition: FlowDefinition<State>, flow: Flow<Data, State>): Promise<Flow<Data, State>> {
    return this.transition(definition, flow, flow.state, { attempts: flow.attempts + 1 });
  }

  purgeExpired(before: Date): Promise<number> {
    return this.#flows.purgeExpired(before);
  }
}

function assertMove<State extends string>(definition: FlowDefinition<State>, from: State, to: State): void {
  if (!definition.transitions[from].includes(to)) {
    throw new AppError('invalid_transition', `This ${definition.kind} cannot go from ${from} to ${to}`);
  }
}

/** The event of a move: `<kind>.<to>` unless named otherwise, with where the flow came from. */
function moveEvent<State extends string>(definition: FlowDefinition<State>, from: State, to: State, event?: { type?: string; payload?: Record<string, unknown> }): FlowEvent {
  return { type: event?.type ?? `${definition.kind}.${to}`, payload: { from, to, ...event?.payload } };
}
