import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { AppError } from '../kernel/errors.ts';
import type { WithPlatform } from './main.ts';
import { parseWebKycSettings, saveWebKycSettings } from '../kyc/web-kyc-settings.ts';

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
          'token-endpoint-auth-method': { type: 'string' },
          jwks: { type: 'string' },
          'jwks-uri': { type: 'string' },
          'access-token-ttl': { type: 'string' },
          introspect: { type: 'boolean' },
          integration: { type: 'string' },
          environment: { type: 'string' },
          'default-redirect-url': { type: 'string' },
          'api-key': { type: 'boolean' },
          'web-kyc': { type: 'boolean' },
          'web-kyc-provider': { type: 'string' },
          json: { type: 'boolean' },
        },
      });
      const oneClick =
        values.integration !== undefined || values.environment !== undefined || values['default-redirect-url'] !== undefined
          ? { integration: values.integration, environment: values.environment, defaultRedirectUrl: values['default-redirect-url'] }
          : undefined;
      const webKyc = values['web-kyc'] ? parseWebKycSettings(values['web-kyc-provider'] ?? true) : undefined;
      return withPlatform(async (s) => {
        const jwks = values.jwks === undefined ? undefined : await readJwks(values.jwks);
        const ttl = values['access-token-ttl'];
        const { client: saved, secret } = await s.clients.save({
          clientId: values['client-id'],
          name: values.name ?? '',
          redirectUris: values['redirect-uri'],
          postLogoutRedirectUris: values['post-logout-redirect-uri'],
          grantTypes: values['grant-types']?.split(',').map((g) => g.trim()).filter(Boolean),
          scope: values.scope,
          public: values.public,
          tokenEndpointAuthMethod: values['token-endpoint-auth-method'],
          jwks,
          jwksUri: values['jwks-uri'],
          accessTokenTtl: ttl === undefined ? undefined : Number(ttl),
          introspect: values.introspect,
          oneClick,
        });
        const client = webKyc ? await saveWebKycSettings(s.repos.clients, saved.clientId, webKyc) : saved;
        const apiKey = values['api-key'] ? (await s.apiKeys.create(client.clientId)).key : undefined;
        const out = {
          client_id: client.clientId,
          ...(secret ? { client_secret: secret } : {}),
          ...(apiKey ? { api_key: apiKey } : {}),
          name: client.name,
          ...client.metadata,
        };
        process.stdout.write(
          values.json
            ? `${JSON.stringify(out)}\n`
            : `created client ${client.clientId}${secret ? `\nclient_secret: ${secret} (shown once)` : ''}${apiKey ? `\napi_key: ${apiKey} (shown once)` : ''}\n`,
        );
      });
    }
    case 'api-key':
      return apiKeyCommand(rest, withPlatform);
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
      process.stderr.write('idflow: usage: idflow client create|list|delete|api-key …\n');
      return 2;
  }
}

/** `--jwks FILE`: the client's public keys, a JWK Set in a JSON file. */
async function readJwks(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new AppError('validation_failed', `--jwks ${path} cannot be read as JSON: ${(error as Error).message}`, {
      fields: [{ field: '/jwks', message: 'must be a file holding a JWK Set' }],
    });
  }
}

/** `idflow client api-key create|list|revoke CLIENT_ID [KEY_ID]`: keys for the 1-Click API. */
async function apiKeyCommand(args: string[], withPlatform: WithPlatform): Promise<number> {
  const [sub, ...rest] = args;
  const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { json: { type: 'boolean' } } });
  const usage = () => {
    process.stderr.write('idflow: usage: idflow client api-key create CLIENT_ID | list CLIENT_ID | revoke CLIENT_ID KEY_ID\n');
    return 2;
  };
  const [clientId, keyId] = positionals;
  if (!clientId) return usage();
  switch (sub) {
    case 'create':
      if (positionals.length !== 1) return usage();
      return withPlatform(async (s) => {
        const { key, record } = await s.apiKeys.create(clientId);
        process.stdout.write(
          values.json
            ? `${JSON.stringify({ id: record.id, client_id: clientId, prefix: record.prefix, api_key: key, created_at: record.createdAt.toISOString() })}\n`
            : `api_key: ${key} (shown once)\nid: ${record.id}\n`,
        );
      });
    case 'list':
      if (positionals.length !== 1) return usage();
      return withPlatform(async (s) => {
        const keys = (await s.apiKeys.list(clientId)).map((k) => ({
          id: k.id,
          prefix: k.prefix,
          created_at: k.createdAt.toISOString(),
          revoked_at: k.revokedAt?.toISOString() ?? null,
        }));
        if (values.json) process.stdout.write(`${JSON.stringify(keys)}\n`);
        else for (const k of keys) process.stdout.write(`${k.id}\t${k.prefix}…\t${k.created_at}\t${k.revoked_at ? `revoked ${k.revoked_at}` : 'live'}\n`);
      });
    case 'revoke':
      if (positionals.length !== 2 || !keyId) return usage();
      return withPlatform(async (s) => {
        const revoked = await s.apiKeys.revoke(clientId, keyId);
        process.stdout.write(values.json ? `${JSON.stringify({ id: revoked.id, revoked_at: revoked.revokedAt?.toISOString() })}\n` : `revoked API key ${revoked.id}\n`);
      });
    default:
      return usage();
  }
}
