-- OAuth artefacts at rest hold nothing a dump could replay: ids, session uids and user codes
-- become keyed hashes (HMAC with the platform's blind-index key) and payloads are sealed.
-- Rows written before cannot be converted here (the keys are not in the database in clear),
-- so they go: sessions, interactions, grants, codes and tokens issued before the upgrade end,
-- and people sign in again.
delete from oidc_payloads;
alter table oidc_payloads drop column payload;
alter table oidc_payloads add column sealed text not null;
-- A revoked grant stays as a tombstone until it expires, so no token of it is ever honoured
-- again and a request still holding the grant cannot save it back.
alter table oidc_payloads add column revoked_at timestamptz;
