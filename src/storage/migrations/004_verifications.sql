-- Verifications: one run of an identity-verification provider (sandbox, Veriff, …), a state
-- machine of its own (created → in_progress → verified | rejected | expired | cancelled).
-- Everything personal is sealed: the document read (`document_sealed`), what a provider keeps
-- between its steps (`provider_data_sealed`) and every image (verification_images). What
-- stays in clear is what an operator needs to follow a verification without seeing the
-- person: ids, states, reason codes, the checks made and the provider's transaction id.
create table verifications (
  id                    uuid primary key,
  provider              text not null,
  provider_ref          text,
  state                 text not null,
  step                  text,
  client_id             text,
  user_id               uuid,
  flow_id               uuid,
  return_to             text not null,
  reasons               text[] not null default '{}',
  document_sealed       text,
  provider_data_sealed  text,
  checks                jsonb not null default '[]',
  provider_txn          text,
  version               integer not null default 1,
  verified_at           timestamptz,
  polled_at             timestamptz,
  created_at            timestamptz not null,
  updated_at            timestamptz not null,
  expires_at            timestamptz not null,
  data_deleted_at       timestamptz
);
-- A vendor's webhook names its own session id; it must lead to exactly one verification.
create unique index verifications_provider_ref on verifications (provider, provider_ref) where provider_ref is not null;
create index verifications_open_expiry on verifications (expires_at) where state in ('created', 'in_progress');
create index verifications_flow on verifications (flow_id) where flow_id is not null;

-- One sealed row per image (document front, back, the face), so deleting a verification's
-- data deletes the rows themselves, not a value inside a larger one.
create table verification_images (
  verification_id  uuid not null references verifications (id) on delete cascade,
  kind             text not null check (kind in ('document_front', 'document_back', 'face')),
  image_sealed     text not null,
  created_at       timestamptz not null,
  primary key (verification_id, kind)
);
