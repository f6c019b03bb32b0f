-- The admin API lists events by client or by user, newest first, a page at a time
-- (src/storage/events-repo.ts, `list`): each walks its own index from the cursor down,
-- instead of the whole table.
create index events_client_listing on events (client_id, id) where client_id is not null;
create index events_user_listing on events (user_id, id) where user_id is not null;
