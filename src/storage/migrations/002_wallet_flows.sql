-- The identity wallet: one row per piece of identity data about a person, sealed, with its
-- provenance (how it was verified, by which verification, for which client, until when).
create table credentials (
  id                   uuid primary key,
  user_id              uuid not null references users (id) on delete cascade,
  type                 text not null,
  value_sealed         text not null,
  verification_method  text not null,
  verification_id      uuid,
  source_client_id     text,
  evidence_sealed      text,
  issued_at            timestamptz not null default now(),
  expires_at           timestamptz,
  revoked_at           timestamptz
);
create index credentials_user_type on credentials (user_id, type);

-- Who shared which credentials with which client, and when. Nothing personal leaves the
-- platform without a row here (or the operator's own verification).
create table consents (
  id              uuid primary key,
  user_id         uuid not null references users (id) on delete cascade,
  client_id       text not null,
  credential_ids  uuid[] not null,
  flow_id         uuid,
  created_at      timestamptz not null default now()
);
create index consents_user_client on consents (user_id, client_id);

-- Flows: one persisted state machine per attempt at something (one_click, kyc, …).
-- `data_sealed` holds the flow's personal data; `context` only what is not personal.
create table flows (
  id           uuid primary key,
  kind         text not null,
  state        text not null,
  client_id    text,
  user_id      uuid,
  subject_index text,
  data_sealed  text,
  context      jsonb not null default '{}',
  attempts     integer not null default 0,
  version      integer not null default 1,
  expires_at   timestamptz not null,
  created_at   timestamptz not null default now(),
  updated_at   timestamptz not null default now()
);
create index flows_kind_subject on flows (kind, subject_index) where subject_index is not null;
create index flows_expires_at on flows (expires_at);

-- Events: what happened, append-only; the source of operator notifications and audit.
create table events (
  id          bigserial primary key,
  type        text not null,
  client_id   text,
  user_id     uuid,
  flow_id     uuid,
  payload     jsonb not null default '{}',
  created_at  timestamptz not null default now()
);
create index events_flow on events (flow_id) where flow_id is not null;
