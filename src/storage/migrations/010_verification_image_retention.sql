-- When a verification reached its final state: images are kept a configured number of days
-- after it (IDFLOW_VERIFICATION_IMAGE_RETENTION_DAYS), then deleted by the purge.
alter table verifications add column ended_at timestamptz;
-- A final state is never left, so the last change of a finished verification is its end.
update verifications set ended_at = updated_at where state not in ('created', 'in_progress');
