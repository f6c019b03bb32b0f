import { userUuid } from '../kernel/ids.ts';
import type { Queryable } from './db.ts';

export interface NewEvent {
  type: string;
  clientId?: string | undefined;
  userId?: string | undefined;
  flowId?: string | undefined;
  /** Never personal data: ids, states, reason codes. */
  payload?: Record<string, unknown>;
}

export interface EventRecord extends Required<Pick<NewEvent, 'type'>> {
  id: number;
  clientId: string | undefined;
  userId: string | undefined;
  flowId: string | undefined;
  payload: Record<string, unknown>;
  createdAt: Date;
}

export class EventsRepo {
  readonly #db: Queryable;

  constructor(db: Queryable) {
    this.#db = db;
  }

  async record(event: NewEvent, now: Date): Promise<void> {
    await this.#db.query('insert into events (type, client_id, user_id, flow_id, payload, created_at) values ($1, $2, $3, $4, $5, $6)', [
      event.type,
      event.clientId ?? null,
      event.userId ? (userUuid(event.userId) ?? null) : null,
      event.flowId ?? null,
      JSON.stringify(event.payload ?? {}),
      now,
    ]);
  }

  async listForFlow(flowId: string): Promise<EventRecord[]> {
    const rows = await this.#db.query<{ id: number; type: string; client_id: string | null; user_id: string | null; flow_id: string | null; payload: Record<string, unknown>; created_at: Date }>(
      'select * from events where flow_id = $1 order by id',
      [flowId],
    );
    return rows.map((r) => ({
      id: r.id,
      type: r.type,
      clientId: r.client_id ?? undefined,
      userId: r.user_id ? `usr:${r.user_id}` : undefined,
      flowId: r.flow_id ?? undefined,
      payload: r.payload,
      createdAt: r.created_at,
    }));
  }
}
