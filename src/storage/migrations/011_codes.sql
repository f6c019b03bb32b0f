-- One store for every single-use code and short-lived hand-over token (src/codes/): Web KYC's
-- codes and tokens, 1-Click's SMS codes. A value is stored only as a keyed hash (HMAC with the
-- platform's blind-index key, with its purpose in the hashed input), so a dump holds nothing
-- that could be presented. Every row belongs to a flow and goes with it; the rows of one flow
-- are what a reused code revokes.
create table codes (
  hash          text primary key,
  purpose       text not null,
  flow_id       uuid not null references flows (id) on delete cascade,
  client_id     text not null,
  -- What the holder reaches with it (e.g. the verification a hand-over token reads); not secret.
  subject       text,
  -- A keyed hash of what must be presented with it (e.g. the redirect URI a code was sent to).
  binding       text,
  expires_at    timestamptz not null,
  -- Codes checked against their flow (short ones a person types) allow this many tries.
  max_attempts  integer,
  attempts      integer not null default 0,
  used_at       timestamptz,
  revoked_at    timestamptz,
  created_at    timestamptz not null
);
create index codes_flow on codes (flow_id);

-- Web KYC's own table goes. Its codes and tokens were unkeyed SHA-256 hashes, which cannot be
-- turned into keyed ones here (the values are gone), so hand-overs that had a code end now;
-- verifications still running go on and get their code from the new store. From now on the
-- flow's expiry is the hand-over's: the purge deletes the verification's details and images
-- with the flow.
update flows f set expires_at = least(f.expires_at, g.retain_until, case when g.code_hash is not null then now() end)
from web_kyc_grants g where f.id = g.flow_id;
drop table web_kyc_grants;
