/**
 * The events an operator can subscribe to, each with the JSON schema of its message. They
 * are read off the platform's own `events` rows (written with the state change that caused
 * them), so nothing has to remember to "send a webhook": a row is published as zero, one or
 * several catalogue events by `publicEventsOf`. docs/notifications.md lists them.
 */
import type { EventRecord } from '../../storage/events-repo.ts';

/** A catalogue event, before it gets its subject's sequence number. */
export interface PublicEvent {
  type: EventType;
  /** What `sequence` counts: the flow, else the user, else the client, else the platform. */
  subject: string;
  clientId: string | undefined;
  data: Record<string, unknown>;
}

/** Flow kinds whose flows are published, and which of their states is which outcome. */
const FLOW_OUTCOMES = {
  one_click: { shared: 'completed', declined: 'failed', failed: 'failed', expired: 'expired' },
  web_kyc: { exchanged: 'completed', failed: 'failed', revoked: 'failed' },
  verification: { verified: 'completed', rejected: 'failed', cancelled: 'failed', expired: 'expired' },
} as const satisfies Record<string, Record<string, 'completed' | 'failed' | 'expired'>>;

type FlowKind = keyof typeof FLOW_OUTCOMES;
const FLOW_STAGES = ['started', 'completed', 'failed', 'expired'] as const;

const string = { type: 'string' } as const;
const nullableString = { type: ['string', 'null'] } as const;

/** What every message's `data` holds. */
const COMMON = {
  subject: { ...string, description: 'What `sequence` counts: `flow:<id>`, `user:<id>`, `client:<id>` or `platform`' },
  sequence: { type: 'integer', minimum: 1, description: 'Increases by one with each event of the same subject, so a receiver can order messages' },
  client_id: nullableString,
  user_id: nullableString,
  flow_id: nullableString,
} as const;

const FLOW_DATA = {
  state: { ...string, description: 'The state the flow moved to' },
  from: { ...string, description: 'The state it left' },
  reason: { ...string, description: 'A reason code (failures)' },
  reasons: { type: 'array', items: string, description: 'Reason codes of a verification that did not pass' },
  verification_id: string,
  provider: string,
} as const;

interface EventDefinition {
  description: string;
  data: Record<string, unknown>;
}

function flowEvents(kind: FlowKind, what: string): Record<string, EventDefinition> {
  const outcomes = FLOW_OUTCOMES[kind] as Record<string, string>;
  const description = {
    started: `A ${what} started`,
    completed: `A ${what} ended well (${Object.keys(outcomes).filter((s) => outcomes[s] === 'completed').join(', ')})`,
    failed: `A ${what} failed (${Object.keys(outcomes).filter((s) => outcomes[s] === 'failed').join(', ') || 'a request refused before it started'})`,
    expired: `A ${what} expired before it ended`,
  };
  return Object.fromEntries(
    FLOW_STAGES.filter((stage) => stage === 'started' || Object.values(outcomes).includes(stage)).map((stage) => [`${kind}.${stage}`, { description: description[stage], data: FLOW_DATA }]),
  );
}

const DEFINITIONS: Record<string, EventDefinition> = {
  ...flowEvents('one_click', '1-Click request'),
  ...flowEvents('web_kyc', 'Web KYC hand-over'),
  ...flowEvents('verification', 'identity verification'),
  'identity.shared': {
    description: 'Personal data was handed over to a client (a consent was recorded)',
    data: {
      credentials: { type: 'integer', minimum: 0, description: 'How many wallet credentials were shared' },
      door: { enum: ['oidc', 'one_click', 'web_kyc'], description: 'How the data was handed over: an OIDC grant, a 1-Click share, Web KYC details' },
      shared: { type: 'array', items: string, description: 'What was handed over, by field or claim name (never values)' },
    },
  },
  'client.changed': {
    description: "A client's registration or its API keys changed",
    data: { change: { enum: ['registration_updated', 'api_key_created', 'api_key_revoked'] }, key_id: string },
  },
  'sign_in.completed': {
    description: 'A person signed in with a password: on the hosted login page (OpenID Connect), through the password grant (and Vault\'s door to it), or on their own account pages (no client)',
    data: { method: { enum: ['password'] }, via: { enum: ['login_page', 'password_grant', 'account'] } },
  },
  'sign_in.failed': {
    description: 'A password sign-in failed: the username or password was wrong (one reason for both, and no user id: the event does not tell which names are accounts)',
    data: { method: { enum: ['password'] }, via: { enum: ['login_page', 'password_grant', 'account'] }, reason: { enum: ['invalid_credentials'] } },
  },
  'limit.exceeded': {
    description: 'A limit refused a request (sign-in attempts, SMS sends, verification starts; docs/limits.md). Published once per limit and key per window, however many requests it refuses',
    data: { limit: { ...string, description: 'The limit, by its name (e.g. `signin_account_address`)' }, retry_after: { type: 'integer', minimum: 1, description: 'Seconds until it allows again' } },
  },
  'token.reuse_detected': {
    description: 'A single-use code or a refresh token was presented again; everything it led to was revoked',
    data: { kind: { ...string, description: '`refresh_token`, `authorization_code` (OAuth), or the purpose of one of idflow\'s own codes (`web_kyc.code`)' } },
  },
  'user.created': { description: 'A user account was created', data: {} },
  'user.updated': { description: "A user's email address or phone number changed (never the value itself)", data: {} },
  'signing_key.rotated': {
    description: 'A new token-signing key was published; it signs from `activates_at` (a platform event)',
    data: { kid: string, activates_at: { type: 'string', format: 'date-time' }, retired: { type: 'integer', minimum: 0, description: 'Keys it replaces' } },
  },
  'audit.checkpoint': {
    description: 'A signed checkpoint of the audit log: the head of every stream and their root (a platform event; `idflow audit verify --checkpoint` takes the message as it came)',
    data: {
      format: { const: 'idflow-audit-checkpoint/1' },
      at: { type: 'string', format: 'date-time' },
      streams: { type: 'array', items: { type: 'object', required: ['stream', 'seq', 'hash'], properties: { stream: string, seq: { type: 'integer', minimum: 1 }, hash: string } } },
      root: string,
      kid: string,
      signature: string,
    },
  },
  'webhook.subscription_disabled': {
    description: 'A subscription was disabled because its endpoint kept failing or answered 410 Gone',
    data: { subscription_id: string, reason: { enum: ['failing', 'gone'] } },
  },
};

/** A name of the catalogue, e.g. `one_click.completed`. */
export type EventType = string;
export const EVENT_TYPES: readonly EventType[] = Object.keys(DEFINITIONS).sort();

export function isEventType(type: string): boolean {
  return Object.hasOwn(DEFINITIONS, type);
}

/** The JSON schema (2020-12) of the body of a message of `type`, as documented. */
export function eventSchema(type: EventType): Record<string, unknown> {
  const definition = DEFINITIONS[type];
  if (!definition) throw new Error(`${type} is not in the event catalogue`);
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: type,
    description: definition.description,
    type: 'object',
    required: ['type', 'timestamp', 'data'],
    additionalProperties: false,
    properties: {
      type: { const: type },
      timestamp: { type: 'string', format: 'date-time', description: 'When the event happened' },
      data: {
        type: 'object',
        required: ['subject', 'sequence'],
        additionalProperties: false,
        properties: { ...COMMON, ...definition.data },
      },
    },
  };
}

/** The catalogue events an `events` row publishes (none for internal bookkeeping). */
export function publicEventsOf(event: EventRecord): PublicEvent[] {
  const p = event.payload;
  const publish = (type: EventType, data: Record<string, unknown>): PublicEvent => ({
    type,
    subject: event.flowId ? `flow:${event.flowId}` : event.userId ? `user:${event.userId}` : event.clientId ? `client:${event.clientId}` : 'platform',
    clientId: event.clientId,
    data: { client_id: event.clientId ?? null, user_id: event.userId ?? null, flow_id: event.flowId ?? null, ...definedOnly(data) },
  });
  const [prefix, action] = splitType(event.type);
  if (prefix in FLOW_OUTCOMES) {
    const kind = prefix as FlowKind;
    const outcomes: Record<string, string> = FLOW_OUTCOMES[kind];
    const details = { verification_id: str(p.verificationId), provider: str(p.provider), reason: str(p.reason), reasons: strings(p.reasons) };
    if (action === 'created') {
      // A flow decided as it starts (a Non-Hosted 1-Click) has started and ended in one write.
      const state = str(p.state);
      const started = publish(`${kind}.started`, { ...details, state: state ?? 'created' });
      const outcome = state && outcomes[state];
      return outcome ? [started, publish(`${kind}.${outcome}`, { ...details, state })] : [started];
    }
    const to = str(p.to);
    if (to !== undefined && to !== p.from && outcomes[to]) return [publish(`${kind}.${outcomes[to]}`, { ...details, state: to, from: str(p.from) })];
    if (kind === 'one_click' && (action === 'failed' || action === 'blocked') && !event.flowId) return [publish('one_click.failed', { ...details, state: 'failed' })];
    return [];
  }
  switch (event.type) {
    case 'identity.shared':
      return [publish('identity.shared', { credentials: typeof p.credentials === 'number' ? p.credentials : undefined, door: str(p.door), shared: strings(p.shared) })];
    case 'client.updated':
      return [publish('client.changed', { change: 'registration_updated' })];
    case 'api_key.created':
    case 'api_key.revoked':
      return [publish('client.changed', { change: `api_key_${action}`, key_id: str(p.keyId) })];
    case 'sign_in.completed':
      return [publish('sign_in.completed', { method: str(p.method), via: str(p.via) })];
    case 'sign_in.failed':
      return [publish('sign_in.failed', { method: str(p.method), via: str(p.via), reason: str(p.reason) })];
    case 'limit.exceeded':
      return [publish('limit.exceeded', { limit: str(p.limit), retry_after: typeof p.retryAfter === 'number' ? p.retryAfter : undefined })];
    case 'token.reuse_detected':
      return [publish('token.reuse_detected', { kind: str(p.kind) })];
    case 'user.created':
    case 'user.updated':
      return [publish(event.type, {})];
    case 'signing_key.rotated':
      return [publish('signing_key.rotated', { kid: str(p.kid), activates_at: str(p.activatesAt), retired: typeof p.retired === 'number' ? p.retired : undefined })];
    case 'audit.checkpoint':
      // Published as signed, field for field: a receiver keeps it to hold the log to it.
      return [publish('audit.checkpoint', { format: p.format, at: p.at, streams: p.streams, root: p.root, kid: p.kid, signature: p.signature })];
    case 'webhook.subscription_disabled':
      return [publish('webhook.subscription_disabled', { subscription_id: str(p.subscriptionId), reason: str(p.reason) })];
    default:
      return [];
  }
}

function splitType(type: string): [string, string] {
  const dot = type.indexOf('.');
  return dot < 0 ? [type, ''] : [type.slice(0, dot), type.slice(dot + 1)];
}

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
const strings = (v: unknown) => (Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined);

function definedOnly(data: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(data).filter(([, v]) => v !== undefined));
}
