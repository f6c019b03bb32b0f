-- A rotated-in key is published before it signs, so relying parties that cached the JWKS
-- find it on their next refresh instead of failing on an unknown key id.
alter table signing_keys add column activates_at timestamptz;
update signing_keys set activates_at = created_at;
alter table signing_keys alter column activates_at set not null;
alter table signing_keys alter column activates_at set default now();
