import { parseArgs } from 'node:util';
import type { WithPlatform } from './main.ts';

export async function clientCommand(args: string[], withPlatform: WithPlatform): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'create': {
      const { values } = parseArgs({
        args: rest,
        options: {
          name: { type: 'string' },
          'client-id': { type: 'string' },
          'redirect-uri': { type: 'string', multiple: true },
          'post-logout-redirect-uri': { type: 'string', multiple: true },
          'grant-types': { type: 'string' },
          scope: { type: 'string' },
          public: { type: 'boolean' },
          'access-token-ttl': { type: 'string' },
          json: { type: 'boolean' },
        },
      });
      return withPlatform(async (s) => {
        const ttl = values['access-token-ttl'];
        const { client, secret } = await s.clients.save({
          clientId: values['client-id'],
          name: values.name ?? '',
          redirectUris: values['redirect-uri'],
          postLogoutRedirectUris: values['post-logout-redirect-uri'],
          grantTypes: values['grant-types']?.split(',').map((g) => g.trim()).filter(Boolean),
          scope: values.scope,
          public: values.public,
          accessTokenTtl: ttl === undefined ? undefined : Number(ttl),
        });
        const out = {
          client_id: client.clientId,
          ...(secret ? { client_secret: secret } : {}),
          name: client.name,
          ...client.metadata,
        };
        process.stdout.write(values.json ? `${JSON.stringify(out)}\n` : `created client ${client.clientId}${secret ? `\nclient_secret: ${secret} (shown once)` : ''}\n`);
      });
    }
    case 'list': {
      const { values } = parseArgs({ args: rest, options: { json: { type: 'boolean' } } });
      return withPlatform(async (s) => {
        const clients = (await s.clients.list()).map((c) => ({ client_id: c.clientId, name: c.name, ...c.metadata }));
        if (values.json) process.stdout.write(`${JSON.stringify(clients)}\n`);
        else for (const c of clients) process.stdout.write(`${c.client_id}\t${c.name}\t${c.grant_types.join(',')}\t${c.scope}\n`);
      });
    }
    case 'delete': {
      const { positionals } = parseArgs({ args: rest, allowPositionals: true });
      if (positionals.length !== 1) {
        process.stderr.write('idflow: usage: idflow client delete CLIENT_ID\n');
        return 2;
      }
      return withPlatform(async (s) => {
        await s.clients.delete(positionals[0]!);
        process.stdout.write(`deleted client ${positionals[0]}\n`);
      });
    }
    default:
      process.stderr.write('idflow: usage: idflow client create|list|delete …\n');
      return 2;
  }
}
