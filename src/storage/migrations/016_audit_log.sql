-- The audit log: an append-only, hash-chained record of every event (flow moves, verifications,
-- hand-overs of personal data, API keys…) and of every change to the administrative tables
-- (clients, users, signing keys, webhook subscriptions) and of consents (every hand-over of
-- personal data). The database writes it, from triggers, so no code path that changes those
-- can leave it out, and an entry commits or rolls back with its change.
-- docs/audit.md describes the format; src/audit/chain.ts is the same encoding in TypeScript,
-- which `idflow audit verify` recomputes: keep the two in step.
--
-- Entries hold ids, types, column names and digests: never personal data, so the log never has
-- to be erased. Each entry belongs to a stream (`client:<client_id>`, or `platform` for what
-- no client owns) and carries the hash of the stream's previous entry.

-- What an entry says. Entries of the running transaction wait here for its commit, to be
-- chained then (see audit_chain); no committed row is ever left, so it needs no WAL.
create unlogged table audit_pending (
  id              bigint generated always as identity primary key,
  stream          text not null,
  at              timestamptz not null,
  action          text not null,
  client_id       text,
  user_id         uuid,
  flow_id         uuid,
  subject         text,
  event_id        bigint,
  payload_digest  bytea,
  columns         text[]
);

-- The log: what an entry says, its position in its stream and the hashes that chain it.
-- `id` (a sequence of its own) orders the listing across streams.
create table audit_log (
  like audit_pending including identity,
  seq             bigint not null,
  prev_hash       bytea not null,
  hash            bytea not null,
  -- Two writers can never both write position n of a stream: the chain cannot fork.
  primary key (stream, seq)
);
create unique index audit_log_id on audit_log (id);
create index audit_log_client on audit_log (client_id, id) where client_id is not null;
create index audit_log_user on audit_log (user_id, id) where user_id is not null;

-- The transaction an entry waits for: at commit, its own entries are found through the
-- index, never by reading past what others' commits left behind for vacuum. (Added after
-- audit_log copied the entry's columns: the log does not keep it.)
alter table audit_pending add column tx xid8 not null default pg_current_xact_id();
create index audit_pending_tx on audit_pending (tx);

create function audit_stream(client_id text) returns text language sql immutable as $$
  select case when client_id is null then 'platform' else 'client:' || client_id end
$$;

-- One field of an entry's hashed text: its length in bytes, a colon and its value, or `-`
-- when absent, so that no two entries share a text.
create function audit_field(v text) returns text language sql immutable as $$
  select coalesce(octet_length(v)::text || ':' || v, '-') || E'\n'
$$;

create function audit_hash(prev bytea, stream text, seq bigint, at timestamptz, action text, client_id text, user_id uuid,
  flow_id uuid, subject text, event_id bigint, payload_digest bytea, columns text[]) returns bytea language sql stable as $$
  select sha256(prev || convert_to('idflow-audit/1' || E'\n'
    || audit_field(stream) || audit_field(seq::text) || audit_field(((extract(epoch from at) * 1000000)::bigint)::text)
    || audit_field(action) || audit_field(client_id) || audit_field(user_id::text) || audit_field(flow_id::text)
    || audit_field(subject) || audit_field(event_id::text) || audit_field(encode(payload_digest, 'hex'))
    || audit_field(array_to_string(columns, ',')), 'UTF8'))
$$;

-- Every event becomes an entry of its client's stream. The payload (reason codes, counts,
-- ids) is kept as a digest only: the entry proves it without copying it.
create function audit_event() returns trigger language plpgsql as $$
begin
  insert into audit_pending (stream, at, action, client_id, user_id, flow_id, event_id, payload_digest)
  values (audit_stream(new.client_id), new.created_at, new.type, new.client_id, new.user_id, new.flow_id, new.id,
          sha256(convert_to(new.payload::text, 'UTF8')));
  return null;
end
$$;
create trigger events_audit after insert on events for each row execute function audit_event();

-- A change to an administrative table: `<table>.<insert|update|delete>`, the row's key as
-- subject, and for an update the names (never the values) of the columns that changed.
-- Arguments: the key column, the client column ('' when none), the user column ('' when none).
create function audit_row_change() returns trigger language plpgsql as $$
declare
  before_row jsonb := case when tg_op <> 'INSERT' then to_jsonb(old) end;
  after_row jsonb := case when tg_op <> 'DELETE' then to_jsonb(new) end;
  row_now jsonb := coalesce(after_row, before_row);
  client text := case when tg_argv[1] <> '' then row_now ->> tg_argv[1] end;
  changed text[];
begin
  if tg_op = 'UPDATE' then
    select array_agg(k order by k) into changed from jsonb_object_keys(after_row) k
      where k <> 'updated_at' and after_row -> k is distinct from before_row -> k;
    if changed is null then return null; end if;
  end if;
  insert into audit_pending (stream, at, action, client_id, user_id, subject, columns)
  values (audit_stream(client), now(), tg_table_name || '.' || lower(tg_op), client,
          case when tg_argv[2] <> '' then (row_now ->> tg_argv[2])::uuid end,
          tg_table_name || ':' || (row_now ->> tg_argv[0]), changed);
  return null;
end
$$;
create trigger clients_audit after insert or update or delete on clients
  for each row execute function audit_row_change('client_id', 'client_id', '');
create trigger users_audit after insert or update or delete on users
  for each row execute function audit_row_change('id', '', 'id');
create trigger signing_keys_audit after insert or update or delete on signing_keys
  for each row execute function audit_row_change('kid', '', '');
create trigger webhook_subscriptions_audit after insert or update or delete on webhook_subscriptions
  for each row execute function audit_row_change('id', 'client_id', '');
-- Nothing personal leaves the platform without a consent row: so every hand-over is logged
-- from that row, whether or not the code that made it also wrote an event.
create trigger consents_audit after insert or update or delete on consents
  for each row execute function audit_row_change('id', 'client_id', 'user_id');

-- At commit, the transaction's pending entries are chained: stream by stream in name order
-- (so two transactions never wait on each other's stream in opposite orders), each stream
-- under a transaction-scoped advisory lock (class 7301106, the stream's hashtext), held for
-- the commit only. Writers to different streams never wait for each other. The head is
-- read after the lock is granted, so it is the committed one (READ COMMITTED).
create function audit_chain() returns trigger language plpgsql as $$
declare
  e record;
  current_stream text;
  n bigint;
  prev bytea;
  h bytea;
begin
  for e in with taken as (delete from audit_pending where tx = pg_current_xact_id() returning *) select * from taken order by stream, id loop
    if current_stream is distinct from e.stream then
      perform pg_advisory_xact_lock(7301106, hashtext(e.stream));
      select l.seq, l.hash into n, prev from audit_log l where l.stream = e.stream order by l.seq desc limit 1;
      if not found then
        n := 0;
        prev := decode(repeat('00', 32), 'hex');
      end if;
      current_stream := e.stream;
    end if;
    n := n + 1;
    h := audit_hash(prev, e.stream, n, e.at, e.action, e.client_id, e.user_id, e.flow_id, e.subject, e.event_id, e.payload_digest, e.columns);
    insert into audit_log (stream, seq, at, action, client_id, user_id, flow_id, subject, event_id, payload_digest, columns, prev_hash, hash)
    values (e.stream, n, e.at, e.action, e.client_id, e.user_id, e.flow_id, e.subject, e.event_id, e.payload_digest, e.columns, prev, h);
    prev := h;
  end loop;
  return null;
end
$$;
-- The first firing at commit chains every pending entry of the transaction; the others find none.
create constraint trigger audit_pending_chain after insert on audit_pending
  deferrable initially deferred for each row execute function audit_chain();

-- The log is append-only: the database refuses to change or remove an entry, and refuses
-- entries that did not come through audit_chain (which runs inside a trigger).
create function audit_log_refuse() returns trigger language plpgsql as $$
begin
  if tg_op = 'INSERT' and pg_trigger_depth() > 1 then return new; end if;
  raise exception 'the audit log is append-only: % refused', tg_op using errcode = '42501';
end
$$;
create trigger audit_log_append_only before insert or update or delete on audit_log
  for each row execute function audit_log_refuse();
create trigger audit_log_no_truncate before truncate on audit_log
  for each statement execute function audit_log_refuse();

-- The latest signed checkpoint is looked up at every maintenance pass.
create index events_audit_checkpoint on events (id) where type = 'audit.checkpoint';
