import { parseArgs } from 'node:util';
import type { WithPlatform } from './platform.ts';
import { AppError } from '../kernel/errors.ts';
import { EVENT_TYPES } from '../notifications/webhooks/catalogue.ts';
import { attemptView, deliveryView, type SubscriptionView } from '../notifications/webhooks/service.ts';

/** `idflow webhook …`: subscriptions and deliveries, through the same service as the import file and the admin API. */
export async function webhookCommand(args: string[], withPlatform: WithPlatform): Promise<number> {
  const [sub, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      events: { type: 'string' },
      description: { type: 'string' },
      secret: { type: 'string' },
      overlap: { type: 'string' },
      subscription: { type: 'string' },
      client: { type: 'string' },
      state: { type: 'string' },
      before: { type: 'string' },
      limit: { type: 'string' },
      since: { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  const usage = () => {
    process.stderr.write('idflow: usage: idflow webhook subscribe|list|update|rotate-secret|enable|disable|delete|deliveries|attempts|redeliver|recover|events … (see idflow help)\n');
    return 2;
  };
  const one = positionals.length === 1 ? positionals[0]! : undefined;
  const out = (json: unknown, text: string) => process.stdout.write(values.json ? `${JSON.stringify(json)}\n` : `${text}\n`);
  const events = values.events?.split(',').map((t) => t.trim()).filter(Boolean);
  switch (sub) {
    case 'subscribe':
      if (!one || !values.url || !events) return usage();
      return withPlatform(async (s) => {
        const { subscription, secret } = await s.webhooks.subscribe(one, { url: values.url!, eventTypes: events, description: values.description, secret: values.secret });
        out({ ...subscription, secret }, `created subscription ${subscription.id}\nsecret: ${secret} (shown once)`);
      });
    case 'list':
      if (positionals.length > 1) return usage();
      return withPlatform(async (s) => {
        const list = await s.webhooks.list(one);
        out(list, list.map(subscriptionLine).join('\n'));
      });
    case 'update':
      if (!one) return usage();
      return withPlatform(async (s) => {
        const view = await s.webhooks.update(one, { url: values.url, eventTypes: events, description: values.description });
        out(view, `updated subscription ${view.id}`);
      });
    case 'rotate-secret':
      if (!one) return usage();
      return withPlatform(async (s) => {
        const overlapSeconds = values.overlap === undefined ? undefined : wholeNumber('overlap', values.overlap);
        const { secret, previousValidUntil } = await s.webhooks.rotateSecret(one, { secret: values.secret, overlapSeconds });
        out({ id: one, secret, previous_secret_valid_until: previousValidUntil.toISOString() }, `secret: ${secret} (shown once)\nthe previous secret signs too until ${previousValidUntil.toISOString()}`);
      });
    case 'enable':
    case 'disable':
      if (!one) return usage();
      return withPlatform(async (s) => {
        const view = await s.webhooks.setEnabled(one, sub === 'enable');
        out(view, `${sub}d subscription ${view.id}`);
      });
    case 'delete':
      if (!one) return usage();
      return withPlatform(async (s) => {
        await s.webhooks.remove(one);
        out({ id: one, deleted: true }, `deleted subscription ${one}`);
      });
    case 'deliveries':
      if (positionals.length) return usage();
      return withPlatform(async (s) => {
        const list = await s.webhooks.deliveries({
          subscriptionId: values.subscription,
          clientId: values.client,
          state: values.state,
          before: values.before === undefined ? undefined : wholeNumber('before', values.before),
          limit: values.limit === undefined ? undefined : wholeNumber('limit', values.limit),
        });
        out(list.map(deliveryView), list.map((d) => `${d.id}\t${d.messageId}\t${d.eventType}\t${d.state}\t${d.attempts} attempt(s)\t${d.createdAt.toISOString()}`).join('\n'));
      });
    case 'attempts':
      if (!one) return usage();
      return withPlatform(async (s) => {
        const { delivery, attempts } = await s.webhooks.delivery(wholeNumber('DELIVERY_ID', one));
        const json = { ...deliveryView(delivery), attempts: attempts.map(attemptView) };
        out(json, [`${delivery.id}\t${delivery.messageId}\t${delivery.eventType}\t${delivery.state}`, ...json.attempts.map((a) => `  ${a.attempted_at}\t${a.status ?? a.error}\t${a.duration_ms} ms\t${JSON.stringify(a.response_head ?? '')}`)].join('\n'));
      });
    case 'redeliver':
      if (!one) return usage();
      return withPlatform(async (s) => {
        await s.webhooks.redeliver(wholeNumber('DELIVERY_ID', one));
        out({ id: Number(one), state: 'pending' }, `delivery ${one} is due again`);
      });
    case 'recover':
      if (!one || !values.since) return usage();
      return withPlatform(async (s) => {
        const count = await s.webhooks.recover(one, new Date(values.since!));
        out({ subscription_id: one, requeued: count }, `${count} failed deliveries are due again`);
      });
    case 'events':
      process.stdout.write(values.json ? `${JSON.stringify(EVENT_TYPES)}\n` : `${EVENT_TYPES.join('\n')}\n`);
      return 0;
    default:
      return usage();
  }
}

function subscriptionLine(s: SubscriptionView): string {
  return `${s.id}\t${s.client_id}\t${s.url}\t${s.event_types.join(',')}\t${s.enabled ? 'enabled' : `disabled (${s.disabled_reason})`}`;
}


function wholeNumber(name: string, text: string): number {
  if (!/^\d{1,15}$/.test(text)) throw new AppError('validation_failed', `${name} must be a whole number`, { fields: [{ field: `/${name}`, message: 'must be a whole number' }] });
  return Number(text);
}
