-- Counters of every limit (failed sign-ins, SMS sends, verification starts), shared by all
-- nodes. The layout is rate-limiter-flexible's PostgreSQL one; keys are keyed hashes, so
-- no email, phone number or IP address is stored here.
create table limit_counters (
  key text primary key,
  points integer not null default 0,
  -- Epoch milliseconds at which the window ends.
  expire bigint
);
create index limit_counters_expire on limit_counters (expire);
