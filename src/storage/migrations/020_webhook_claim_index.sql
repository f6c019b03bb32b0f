-- A claim reads the first due deliveries of each subscription, in the order they are due
-- (src/storage/webhook-deliveries-repo.ts, `claim`), straight off this index, however many
-- are pending.
create index webhook_deliveries_due_per_subscription on webhook_deliveries (subscription_id, next_attempt_at, id) where state = 'pending';
