-- Web KYC (Authenteq-compatible): what one person's verification hands to one client, and
-- for how long. The code and the token are stored only as hashes; the verified details and
-- images stay in the verification (sealed) and are deleted with this row at `retain_until`:
-- 60 s after a code is issued if it is never exchanged, 15 min after the token is issued,
-- at once when the token is revoked.
create table web_kyc_grants (
  flow_id           uuid primary key,
  client_id         text not null,
  verification_id   uuid not null,
  redirect_uri      text not null,
  code_hash         text unique,
  code_expires_at   timestamptz,
  code_used_at      timestamptz,
  token_hash        text unique,
  token_expires_at  timestamptz,
  revoked_at        timestamptz,
  retain_until      timestamptz not null,
  created_at        timestamptz not null
);
create index web_kyc_grants_retain_until on web_kyc_grants (retain_until);
create index web_kyc_grants_verification on web_kyc_grants (verification_id);
