-- API keys: how an operator's backend calls the 1-Click API (the key is the whole
-- Authorization header, as Verified documents). Only a hash is stored; a client may hold
-- several at once so a key can be rotated without downtime. `prefix` is the key's first
-- characters, enough to tell keys apart in a listing, too few to use.
create table api_keys (
  id          uuid primary key,
  client_id   text not null references clients (client_id) on delete cascade,
  key_hash    text not null unique,
  prefix      text not null,
  created_at  timestamptz not null default now(),
  revoked_at  timestamptz
);
create index api_keys_client on api_keys (client_id);

-- At most one open 1-Click request per phone and client: the row is taken atomically (an
-- upsert that only replaces an expired holder), so two simultaneous requests cannot both
-- win. `subject_index` is the phone's blind index, never the number. `token` names the
-- holder so only it releases the row.
create table one_click_phone_locks (
  client_id      text not null,
  subject_index  text not null,
  token          uuid not null,
  expires_at     timestamptz not null,
  primary key (client_id, subject_index)
);
create index one_click_phone_locks_expires_at on one_click_phone_locks (expires_at);

-- Wrong birth dates / SSN4s per phone (all clients together: the secret guessed is the
-- person's), counted in a window, so a caller cannot keep guessing across new requests.
create table one_click_input_failures (
  subject_index  text not null,
  input          text not null,
  failures       integer not null,
  window_ends_at timestamptz not null,
  primary key (subject_index, input)
);
