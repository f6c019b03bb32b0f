-- Operators' applications. `metadata` is OAuth client metadata (RFC 7591 names) plus idflow's
-- own fields; the secret is only ever stored hashed.
create table clients (
  client_id    text primary key,
  name         text not null,
  metadata     jsonb not null,
  secret_hash  text,
  created_at   timestamptz not null default now(),
  updated_at   timestamptz not null default now()
);

-- People. Email and phone are sealed; the *_index columns are blind indexes (keyed hashes)
-- so a person can be found by email or phone without either being stored in clear.
create table users (
  id              uuid primary key,
  email_sealed    text,
  email_index     text unique,
  phone_sealed    text,
  phone_index     text unique,
  password_hash   text,
  created_at      timestamptz not null default now(),
  updated_at      timestamptz not null default now()
);

-- Everything oidc-provider persists (sessions, grants, codes, tokens, interactions), one row
-- per model instance, indexed the ways its adapter looks them up.
create table oidc_payloads (
  model        text not null,
  id           text not null,
  payload      jsonb not null,
  grant_id     text,
  uid          text,
  user_code    text,
  expires_at   timestamptz,
  consumed_at  timestamptz,
  primary key (model, id)
);
create index oidc_payloads_grant_id on oidc_payloads (grant_id) where grant_id is not null;
create index oidc_payloads_uid on oidc_payloads (uid) where uid is not null;
create index oidc_payloads_expires_at on oidc_payloads (expires_at) where expires_at is not null;

-- Token signing keys, private parts sealed. The newest active key signs; retired keys stay
-- published in the JWKS until `publish_until`, when no token they signed can still be valid.
create table signing_keys (
  kid            text primary key,
  alg            text not null,
  private_jwk    text not null,
  created_at     timestamptz not null default now(),
  retired_at     timestamptz,
  publish_until  timestamptz
);

-- Platform secrets that are not configuration (cookie keys, the blind-index key), sealed.
create table platform_secrets (
  name        text primary key,
  sealed      text not null,
  created_at  timestamptz not null default now()
);
