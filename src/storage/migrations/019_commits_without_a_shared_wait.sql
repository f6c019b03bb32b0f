-- Two writes every statement that records an event makes (migrations 015, 016) held the
-- commits of unrelated requests behind one another. Measured with bench/web-kyc.ts (one
-- client, 32 connections): each alone cut the hand-over rate by a third or more.

-- 1. A NOTIFY takes a database-wide lock that PostgreSQL holds until the commit is flushed
-- (PreCommit_Notify), so every transaction that sends one waits for every other's flush. The
-- workers need waking only when they are idle, that is when the outbox was empty; when it
-- was not, they are busy with it, and polling remains the floor.
create or replace function notification_outbox_add() returns trigger language plpgsql as $$
begin
  if not exists (select 1 from notification_outbox) then
    perform pg_notify('idflow_outbox', '');
  end if;
  insert into notification_outbox (event_id) select id from added_events;
  return null;
end
$$;

-- 2. A stream's lock is held through the commit's flush, so one busy client's requests
-- committed one at a time. An event of a flow, or else of a person (a sign-in), now goes to
-- one of 64 sub-streams of its client's stream (`client:<id>/<n>`, n from the flow's or the
-- person's id): a flow's own entries stay in one chain, in order, and concurrent requests of
-- one client rarely share a lock. What is neither (the client's row, its keys, its
-- subscriptions, its consents) stays in `client:<id>`.
drop function audit_stream(text);
create function audit_stream(client_id text, shard uuid default null) returns text language sql immutable as $$
  select case when client_id is null then 'platform' else 'client:' || client_id end
    || case when shard is null then '' else '/' || (abs(hashtext(shard::text)) % 64)::text end
$$;

create or replace function audit_event() returns trigger language plpgsql as $$
begin
  insert into audit_pending (stream, at, action, client_id, user_id, flow_id, event_id, payload_digest)
  values (audit_stream(new.client_id, coalesce(new.flow_id, new.user_id)), new.created_at, new.type, new.client_id, new.user_id, new.flow_id, new.id,
          sha256(convert_to(new.payload::text, 'UTF8')));
  return null;
end
$$;
