import { randomUUID } from 'node:crypto';
import { AppError } from '../kernel/errors.ts';
import type { Clock } from '../kernel/clock.ts';
import type { CteOf } from '../storage/db.ts';
import type { FlowChanges, FlowEvent, FlowRecord, FlowsRepo } from '../storage/flows-repo.ts';
import { browserHash, browserMatches, flowFormToken, flowFormTokenValid, newBrowserSecret } from './browser-binding.ts';

/**
 * A kind of flow: its states, the only moves allowed between them, and the rules every flow
 * of the kind follows (lifetime, attempts, what it keeps once over). Every change of every
 * flow goes through `FlowEngine`, which checks this table, so a flow cannot jump from
 * `created` to `completed` because some handler forgot a check.
 */
export interface FlowDefinition<State extends string, Data = any> {
  kind: string;
  initial: State;
  transitions: { readonly [S in State]: readonly State[] };
  /** Seconds a new flow lives unless `start` is told otherwise. */
  ttlSeconds: number;
  /**
   * Where a flow goes once its time is up: the engine moves it there when it next reads it
   * (nothing sweeps flows), from every state the table lets move there. A flow whose state
   * cannot (it has ended, or went past the point where time stops it) is only reported
   * `expired`.
   */
  onExpiry?: State;
  /** Failed attempts (wrong codes, wrong answers) one flow allows; `FlowEngine.failAttempt` counts them. */
  maxAttempts?: number;
  /** Where a flow goes when its last allowed attempt failed. */
  onAttemptsExhausted?: State;
  /**
   * What a flow keeps of its data once it has ended (reached a state with no way out): the
   * rest was needed only while it was open, and personal data is not kept for nothing.
   */
  keepOnEnd?: (data: Data) => Data;
}

/**
 * The one reading of a lifetime: over at its `expiresAt`, not a millisecond later. The engine
 * reads every flow with it, and so does the executor of records kept outside `flows`.
 */
export function lifetimeOver(record: { expiresAt: Date }, now: Date): boolean {
  return record.expiresAt <= now;
}

/** A flow as the engine hands it out: `expired` is the engine's reading of its lifetime, at the time it was read. */
export type Flow<Data, State extends string = string> = FlowRecord<Data> & { state: State; expired: boolean };

export function defineFlow<State extends string, Data = any>(definition: FlowDefinition<State, Data>): FlowDefinition<State, Data> {
  const named = (state: State | undefined, what: string) => {
    if (state !== undefined && !(state in definition.transitions)) throw new Error(`flow ${definition.kind}: ${what} names an unknown state ${state}`);
  };
  for (const [from, tos] of Object.entries(definition.transitions) as [State, readonly State[]][]) {
    for (const to of tos) named(to, `${from} →`);
  }
  named(definition.onExpiry, 'onExpiry');
  named(definition.onAttemptsExhausted, 'onAttemptsExhausted');
  if (definition.onAttemptsExhausted !== undefined && definition.maxAttempts === undefined) throw new Error(`flow ${definition.kind}: onAttemptsExhausted without maxAttempts`);
  return definition;
}

export function isTerminal<State extends string>(definition: FlowDefinition<State>, state: State): boolean {
  return definition.transitions[state].length === 0;
}

/** What a browser must present, and a form carry, to act on a flow: see `FlowEngine.checkForm`. */
export type FormCheck = 'ok' | 'other_browser' | 'stale_form';

/** What a move may change besides the state; `ttlSeconds` gives the flow a new lifetime from now (instead of an `expiresAt`). */
type Changes<Data> = Omit<FlowChanges<Data>, 'state' | 'browserHash'> & { ttlSeconds?: number };
type MoveEvent = { type?: string; payload?: Record<string, unknown> };

/**
 * The one executor of flows of every kind. It owns what every kind shares: the transition
 * table, the lifetime (`onExpiry`), attempt limits (`maxAttempts`), what an ended flow keeps
 * (`keepOnEnd`), binding a flow to the browser that took it on, and binding its forms to the
 * flow and that browser (CSRF). Surfaces render its answers in their own words; none of them
 * compares times or counts attempts itself.
 */
export class FlowEngine {
  readonly #flows: FlowsRepo;
  readonly #clock: Clock;
  readonly #formKey: Buffer;

  /** `formKey`: the platform's key for form tokens (`platform_secrets`). */
  constructor(flows: FlowsRepo, clock: Clock, formKey: Buffer) {
    this.#flows = flows;
    this.#clock = clock;
    this.#formKey = formKey;
  }

  /**
   * A new flow. With `bindBrowser` it is bound, from its first write, to the browser that
   * opened it: the answer carries `browserSecret` (for a cookie), the flow keeps its hash.
   */
  async start<State extends string, Data>(
    definition: FlowDefinition<State, Data>,
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
      bindBrowser?: boolean;
      /** Writes that ride on the flow's insert (a code issued with it), made for its id. */
      also?: (flowId: string) => CteOf;
    },
  ): Promise<Flow<Data, State> & { browserSecret?: string }> {
    const state = input.state ?? definition.initial;
    if (state !== definition.initial && !definition.transitions[definition.initial].includes(state)) {
      throw new AppError('invalid_transition', `A ${definition.kind} cannot start in ${state}`);
    }
    const now = this.#clock.now();
    const id = randomUUID();
    const browserSecret = input.bindBrowser ? newBrowserSecret() : undefined;
    const started = state !== definition.initial ? { payload: { state } } : {};
    const flow = await this.#flows.insert({
      id,
      kind: definition.kind,
      state,
      clientId: input.clientId,
      userId: input.userId,
      subjectIndex: input.subjectIndex,
      data: this.#kept(definition, state, input.data),
      context: input.context ?? {},
      browserHash: browserSecret !== undefined ? browserHash(id, browserSecret) : undefined,
      expiresAt: new Date(now.getTime() + (input.ttlSeconds ?? definition.ttlSeconds) * 1000),
      now,
    }, { type: `${definition.kind}.created`, ...started }, input.also?.(id));
    return { ...this.#read<Data, State>(flow), ...(browserSecret !== undefined ? { browserSecret } : {}) };
  }

  /**
   * The flow with this id, or undefined. A flow past its time is `expired`; if its state may
   * move to the definition's `onExpiry`, it has been moved there first (once: of two
   * readers, one moves it and the other reads the move).
   */
  async find<State extends string, Data>(definition: FlowDefinition<State, Data>, id: string): Promise<Flow<Data, State> | undefined> {
    const record = await this.#flows.findById<Data>(id, definition.kind);
    if (!record) return undefined;
    const flow = this.#read<Data, State>(record);
    const to = definition.onExpiry;
    if (!flow.expired || to === undefined || !definition.transitions[flow.state].includes(to)) return flow;
    try {
      return await this.transition(definition, flow, to);
    } catch (error) {
      if (error instanceof AppError && error.code === 'flow_conflict') return this.find(definition, id);
      throw error;
    }
  }

  /**
   * For callers that go on only with a live flow: the flow, or the one answer every surface
   * renders in its words — `not_found` (none of this kind with this id) or `flow_expired`.
   */
  async load<State extends string, Data>(definition: FlowDefinition<State, Data>, id: string): Promise<Flow<Data, State>> {
    const flow = await this.find(definition, id);
    if (!flow) throw new AppError('not_found', 'No such flow');
    if (flow.expired) throw new AppError('flow_expired', 'This flow has expired; start a new one');
    return flow;
  }

  /**
   * Moves the flow to `to` (or keeps its state when `to` is the same and only data
   * changes), if the table allows it and nobody changed the flow meanwhile. A move to a
   * state with no way out keeps only what the definition's `keepOnEnd` keeps.
   */
  async transition<State extends string, Data>(
    definition: FlowDefinition<State, Data>,
    flow: Flow<Data, State>,
    to: State,
    changes: Changes<Data> = {},
    event?: MoveEvent,
  ): Promise<Flow<Data, State>> {
    if (to !== flow.state) assertMove(definition, flow.state, to);
    const now = this.#clock.now();
    const recorded = to !== flow.state || event ? moveEvent(definition, flow.state, to, event) : undefined;
    const data = this.#kept(definition, to, changes.data ?? flow.data);
    const { ttlSeconds, ...rest } = changes;
    const expiresAt = ttlSeconds !== undefined ? new Date(now.getTime() + ttlSeconds * 1000) : rest.expiresAt;
    const updated = await this.#flows.update(flow, { ...rest, data, state: to, ...(expiresAt ? { expiresAt } : {}) }, now, recorded);
    if (!updated) throw new AppError('flow_conflict', 'The flow was changed by another request; try again');
    return this.#read<Data, State>(updated);
  }

  /**
   * The same move as `transition`, for another repository's statement to carry (a code used
   * and its flow moved on, in one statement): it happens only if the flow is then in `from`.
   * The flow's data is not rewritten, so a definition that trims data on ending cannot end this way.
   */
  moveWith<State extends string>(
    definition: FlowDefinition<State>,
    from: State,
    to: State,
    changes: { expiresAt?: Date } = {},
    event?: MoveEvent,
  ): CteOf {
    assertMove(definition, from, to);
    if (definition.keepOnEnd && isTerminal(definition, to)) throw new Error(`flow ${definition.kind}: ${to} trims data; move there with transition`);
    const now = this.#clock.now();
    const recorded = moveEvent(definition, from, to, event);
    return (rows, firstParam) => this.#flows.advanceOf(rows, { kind: definition.kind, from, to, expiresAt: changes.expiresAt, event: recorded, now }, firstParam);
  }

  // ── Attempts ─────────────────────────────────────────────────────────────────────────

  /** Failed attempts the flow still allows (Infinity when its kind sets no limit). */
  attemptsLeft<State extends string>(definition: FlowDefinition<State>, flow: Flow<unknown, State>): number {
    return definition.maxAttempts === undefined ? Infinity : Math.max(0, definition.maxAttempts - flow.attempts);
  }

  /**
   * Counts one failed attempt. When it was the last one allowed, the flow moves to the
   * definition's `onAttemptsExhausted` in the same write, with `ending` (what later reads
   * should say, e.g. a reason) — unless `endAtLast` is false: a surface that lets its caller
   * hear of the last wrong attempt first ends the flow at the next one (`attemptsLeft` is
   * then 0). A flow with no attempts left is refused (`attempts_exhausted`).
   */
  async failAttempt<State extends string, Data>(
    definition: FlowDefinition<State, Data>,
    flow: Flow<Data, State>,
    options: { ending?: Changes<Data>; event?: MoveEvent; endAtLast?: boolean } = {},
  ): Promise<{ flow: Flow<Data, State>; attemptsLeft: number }> {
    if (this.attemptsLeft(definition, flow) === 0) throw new AppError('attempts_exhausted', 'No attempts are left; start again');
    const attempts = flow.attempts + 1;
    const end = definition.onAttemptsExhausted;
    const exhausted = end !== undefined && options.endAtLast !== false && attempts >= definition.maxAttempts!;
    const counted = exhausted
      ? await this.transition(definition, flow, end, { ...options.ending, attempts }, options.event)
      : await this.transition(definition, flow, flow.state, { attempts });
    return { flow: counted, attemptsLeft: this.attemptsLeft(definition, counted) };
  }

  // ── The browser and its forms ────────────────────────────────────────────────────────

  /**
   * Binds the flow to a new browser from now on: the flow's next write (`transition`,
   * `failAttempt`) keeps the secret's hash; hand `browserSecret` to the browser (a cookie).
   * A browser bound before is unbound by it.
   */
  bindBrowser<F extends Flow<unknown>>(flow: F): { flow: F; browserSecret: string } {
    const browserSecret = newBrowserSecret();
    return { flow: { ...flow, browserHash: browserHash(flow.id, browserSecret) }, browserSecret };
  }

  /** Whether `presented` is the secret of the browser the flow is bound to (false for an unbound flow). */
  isBrowserOf(flow: Flow<unknown>, presented: string | undefined): boolean {
    return browserMatches(flow.id, flow.browserHash, presented);
  }

  /** The token a page of this flow puts in its forms: bound to the flow and to the browser it is bound to. */
  formToken(flow: Flow<unknown>): string {
    return flowFormToken(this.#formKey, flow.id, flow.browserHash);
  }

  /**
   * Whether a form may act on the flow: only with the token of this flow's pages as they are
   * now (`stale_form`: another flow's page, a forged form, or a page shown before the flow
   * was bound), and a bound flow only from its browser (`other_browser`).
   */
  checkForm(flow: Flow<unknown>, form: { csrf: unknown; browserSecret: string | undefined }): FormCheck {
    if (!flowFormTokenValid(this.#formKey, flow.id, flow.browserHash, form.csrf)) return 'stale_form';
    return flow.browserHash === undefined || this.isBrowserOf(flow, form.browserSecret) ? 'ok' : 'other_browser';
  }

  purgeExpired(before: Date): Promise<number> {
    return this.#flows.purgeExpired(before);
  }

  #read<Data, State extends string>(record: FlowRecord<Data>): Flow<Data, State> {
    return { ...record, expired: lifetimeOver(record, this.#clock.now()) } as Flow<Data, State>;
  }

  #kept<State extends string, Data>(definition: FlowDefinition<State, Data>, state: State, data: Data): Data {
    return definition.keepOnEnd && isTerminal(definition, state) ? definition.keepOnEnd(data) : data;
  }
}

/** The one check of a move against a kind's transition table. */
export function assertMove<State extends string>(definition: FlowDefinition<State>, from: State, to: State): void {
  if (!definition.transitions[from].includes(to)) {
    throw new AppError('invalid_transition', `This ${definition.kind} cannot go from ${from} to ${to}`);
  }
}

/** The event of a move: `<kind>.<to>` unless named otherwise, with where the flow came from. */
function moveEvent<State extends string>(definition: FlowDefinition<State>, from: State, to: State, event?: MoveEvent): FlowEvent {
  return { type: event?.type ?? `${definition.kind}.${to}`, payload: { from, to, ...event?.payload } };
}
