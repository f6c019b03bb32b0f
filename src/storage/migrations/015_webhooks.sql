-- Operator notifications: webhook subscriptions, the outbox that makes every committed event
-- reach them, deliveries (one per message and subscription) and every attempt of each.
-- docs/notifications.md explains the design.

-- A client's endpoint: what it wants and how its messages are signed. Secrets are sealed
-- (they must be read back to sign); the previous one stays valid until it expires, so a
-- receiver can roll over without missing a message.
create table webhook_subscriptions (
  id                   text primary key,
  client_id            text not null references clients (client_id) on delete cascade,
  url                  text not null,
  event_types          text[] not null,
  description          text,
  secret_sealed        text not null,
  previous_secret_sealed text,
  previous_expires_at  timestamptz,
  -- Failing without a success since then; disabled once that lasts too long.
  failing_since        timestamptz,
  disabled_at          timestamptz,
  disabled_reason      text,
  created_at           timestamptz not null default now(),
  updated_at           timestamptz not null default now(),
  unique (client_id, url)
);

-- One row per event not yet fanned out to subscriptions, written by the statement that
-- writes the event (trigger below), so it commits or rolls back with the state change that
-- caused it. A scan of `events` by id could not do this: ids are taken in one order and
-- committed in another, and a cursor would step over an id that commits late.
create table notification_outbox (
  event_id bigint primary key
);

-- The NOTIFY wakes delivery workers up at commit (PostgreSQL sends it then, once per
-- transaction); they poll as well, so a lost notification only delays.
create function notification_outbox_add() returns trigger language plpgsql as $$
begin
  insert into notification_outbox (event_id) select id from added_events;
  perform pg_notify('idflow_outbox', '');
  return null;
end
$$;

create trigger events_notification_outbox after insert on events
  referencing new table as added_events
  for each statement execute function notification_outbox_add();

-- The last sequence number given to each subject (a flow, else a user, else a client), so a
-- receiver can order what arrives out of order.
create table notification_sequences (
  subject  text primary key,
  last     bigint not null
);

-- A message to one subscription. `message_id` is the `webhook-id`: the same on every retry
-- and redelivery, so a receiver can drop duplicates. `body` is stored as sent, byte for byte.
create table webhook_deliveries (
  id               bigserial primary key,
  message_id       text not null,
  subscription_id  text not null references webhook_subscriptions (id) on delete cascade,
  event_id         bigint not null,
  event_type       text not null,
  body             text not null,
  state            text not null check (state in ('pending', 'delivered', 'failed')),
  attempts         integer not null default 0,
  -- When the next attempt is due; a claimed delivery is pushed past its attempt's lease, so
  -- one whose worker died is taken up again once the lease is over.
  next_attempt_at  timestamptz not null,
  created_at       timestamptz not null,
  delivered_at     timestamptz,
  unique (subscription_id, message_id)
);
create index webhook_deliveries_due on webhook_deliveries (next_attempt_at) where state = 'pending';
create index webhook_deliveries_subscription on webhook_deliveries (subscription_id, created_at);

create table webhook_attempts (
  id               bigserial primary key,
  delivery_id      bigint not null references webhook_deliveries (id) on delete cascade,
  attempted_at     timestamptz not null,
  -- The HTTP status, or null when no answer came (then `error` says why).
  status           integer,
  duration_ms      integer not null,
  -- The first bytes of the answer, as text.
  response_head    text,
  error            text
);
create index webhook_attempts_delivery on webhook_attempts (delivery_id, id);
