-- Wrong birth dates / SSN4s are counted per brand and environment, no longer per phone
-- alone: one brand's failures (a sandbox brand compares inputs with mock data) must never
-- refuse another brand, nor a brand's production requests. The counts are short-lived
-- (one request lifetime); the old ones, which name no brand, are dropped.
delete from one_click_input_failures;
alter table one_click_input_failures drop constraint one_click_input_failures_pkey;
alter table one_click_input_failures add column client_id text not null, add column environment text not null;
alter table one_click_input_failures add primary key (client_id, environment, subject_index, input);
create index one_click_input_failures_window_ends_at on one_click_input_failures (window_ends_at);
