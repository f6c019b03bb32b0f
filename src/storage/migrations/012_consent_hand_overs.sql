-- One consent record per hand-over of personal data to an operator, whatever the door
-- (OIDC grant, 1-Click share, Web KYC details): which door, what was handed over (field
-- names, never values) and, for a person without an account (Web KYC), no user but the
-- flow and verification it came from.
alter table consents alter column user_id drop not null;
-- Every record written before this migration came from a 1-Click share.
alter table consents add column door text not null default 'one_click';
alter table consents alter column door drop default;
alter table consents add column shared text[] not null default '{}';
alter table consents add column verification_id uuid;
-- A flow hands its data over once: a second read of the same hand-over adds no record.
create unique index consents_door_flow on consents (door, flow_id) where flow_id is not null;
-- What an operator is asked for: every hand-over to one client.
create index consents_client on consents (client_id, created_at);
