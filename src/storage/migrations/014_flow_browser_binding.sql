-- A flow may be bound to the browser that took it on (a cookie holds a random secret): only
-- the SHA-256 of that secret is kept, so a database dump opens no one's flow.
alter table flows add column browser_hash text;
