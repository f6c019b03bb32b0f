import { pageOf, type Page, type Paging } from '../kernel/paging.ts';
import type { Queryable } from '../storage/db.ts';
import { EventsRepo, type EventFilter, type EventRecord } from '../storage/events-repo.ts';

/** An event as shown to an operator: ids, states and reason codes, never personal data. */
export interface EventView {
  id: number;
  type: string;
  client_id: string | null;
  user_id: string | null;
  flow_id: string | null;
  payload: Record<string, unknown>;
  created_at: string;
}

/**
 * What happened on the platform, as an operator looks it up (the admin API): the events
 * every flow records, filtered by client, user, type or kind (a prefix ending in `.`) and
 * time, newest first, a page at a time.
 */
export class EventLog {
  readonly #repo: EventsRepo;

  constructor(db: Queryable) {
    this.#repo = new EventsRepo(db);
  }

  async list(filter: Omit<EventFilter, 'beforeId'>, paging: Paging = {}): Promise<Page<EventView>> {
    const page = await pageOf(paging, (beforeId, limit) => this.#repo.list({ ...filter, beforeId }, limit));
    return { items: page.items.map(eventView), nextCursor: page.nextCursor };
  }
}

function eventView(e: EventRecord): EventView {
  return {
    id: e.id,
    type: e.type,
    client_id: e.clientId ?? null,
    user_id: e.userId ?? null,
    flow_id: e.flowId ?? null,
    payload: e.payload,
    created_at: e.createdAt.toISOString(),
  };
}
