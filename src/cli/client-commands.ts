import { readFile } from 'node:fs/promises';
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import type { WithPlatform } from './platform.ts';
import type { ClientChanges } from '../clients/client-service.ts';
import { AppError } from '../kernel/errors.ts';
import { parseWebKycSettings } from '../kyc/web-kyc-settings.ts';
import type { ClientRecord } from '../storage/clients-repo.ts';

/**
 * What `client create` and `client update` both read: the client's fields. A list flag given
 * replaces the list; `--unset NAME` removes a field (back to its default).
 */
const CLIENT_FLAGS = {
  name: { type: 'string' },
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
  'verification-step': { type: 'boolean' },
  integration: { type: 'string' },
  environment: { type: 'string' },
  'default-redirect-url': { type: 'string' },
  title: { type: 'string' },
  'display-name': { type: 'string' },
  'default-credential-requests': { type: 'string' },
  'send-sms': { type: 'boolean' },
  'birth-date-format': { type: 'string' },
  'web-kyc': { type: 'boolean' },
  'web-kyc-provider': { type: 'string' },
  unset: { type: 'string', multiple: true },
  json: { type: 'boolean' },
} as const satisfies ParseArgsOptionsConfig;

type ClientFlags = ReturnType<typeof parseArgs<{ options: typeof CLIENT_FLAGS }>>['values'];

/** Fields `--unset` can remove, by flag name. */
const UNSETTABLE: Record<string, (changes: ClientChanges) => void> = {
  'redirect-uri': (c) => void (c.redirectUris = null),
  'post-logout-redirect-uri': (c) => void (c.postLogoutRedirectUris = null),
  'access-token-ttl': (c) => void (c.accessTokenTtl = null),
  'default-redirect-url': (c) => void (c.oneClick = { ...c.oneClick, defaultRedirectUrl: null }),
  'display-name': (c) => void (c.oneClick = { ...c.oneClick, displayName: null }),
  'default-credential-requests': (c) => void (c.oneClick = { ...c.oneClick, defaultCredentialRequests: null }),
  'one-click': (c) => void (c.oneClick = null),
  'web-kyc': (c) => void (c.webKyc = null),
};

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

/** The flags as a change to a client; the client service checks what they mean. */
async function changesOf(values: ClientFlags): Promise<ClientChanges> {
  const ttl = values['access-token-ttl'];
  const brand = {
    integration: values.integration,
    environment: values.environment,
    defaultRedirectUrl: values['default-redirect-url'],
    title: values.title,
    displayName: values['display-name'],
    defaultCredentialRequests: values['default-credential-requests'] === undefined ? undefined : jsonFlag('default-credential-requests', values['default-credential-requests']),
    sendSms: values['send-sms'],
    birthDateFormat: values['birth-date-format'],
  };
  const webKyc = values['web-kyc'] === false ? parseWebKycSettings(false) : values['web-kyc'] || values['web-kyc-provider'] ? parseWebKycSettings(values['web-kyc-provider'] ?? true) : undefined;
  const changes: ClientChanges = {
    name: values.name,
    redirectUris: values['redirect-uri'],
    postLogoutRedirectUris: values['post-logout-redirect-uri'],
    grantTypes: values['grant-types']?.split(',').map((g) => g.trim()).filter(Boolean),
    scope: values.scope,
    public: values.public,
    tokenEndpointAuthMethod: values['token-endpoint-auth-method'],
    jwks: values.jwks === undefined ? undefined : await readJwks(values.jwks),
    jwksUri: values['jwks-uri'],
    accessTokenTtl: ttl === undefined ? undefined : Number(ttl),
    introspect: values.introspect,
    verificationStep: values['verification-step'],
    oneClick: Object.values(brand).some((v) => v !== undefined) ? brand : undefined,
    webKyc,
  };
  for (const name of values.unset ?? []) {
    const unset = UNSETTABLE[name];
    if (!unset) throw new AppError('validation_failed', `--unset ${name}: use one of ${Object.keys(UNSETTABLE).join(', ')}`, { fields: [{ field: '/unset', message: `cannot unset ${name}` }] });
    unset(changes);
  }
  return changes;
}

function jsonFlag(name: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new AppError('validation_failed', `--${name} must be JSON`, { fields: [{ field: `/${name}`, message: 'must be JSON' }] });
  }
}

/** What create and update print: the client as stored, with a new secret or key once. */
function printClient(client: ClientRecord, extra: { secret?: string | undefined; apiKey?: string | undefined }, json: boolean | undefined, verb: string): void {
  const { secret, apiKey } = extra;
  const out = {
    client_id: client.clientId,
    ...(secret ? { client_secret: secret } : {}),
    ...(apiKey ? { api_key: apiKey } : {}),
    name: client.name,
    ...client.metadata,
  };
  process.stdout.write(
    json
      ? `${JSON.stringify(out)}\n`
      : `${verb} client ${client.clientId}${secret ? `\nclient_secret: ${secret} (shown once)` : ''}${apiKey ? `\napi_key: ${apiKey} (shown once)` : ''}\n`,
  );
}

export async function clientCommand(args: string[], withPlatform: WithPlatform): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'create': {
      const { values } = parseArgs({
        args: rest,
        allowNegative: true,
        options: { ...CLIENT_FLAGS, 'client-id': { type: 'string' }, 'api-key': { type: 'boolean' } },
      });
      return withPlatform(async (s) => {
        const { client, secret } = await s.clients.save({ ...(await changesOf(values)), clientId: values['client-id'], name: values.name ?? '' });
        const apiKey = values['api-key'] ? (await s.apiKeys.create(client.clientId)).key : undefined;
        printClient(client, { secret, apiKey }, values.json, 'created');
      });
    }
    case 'update': {
      const { values, positionals } = parseArgs({ args: rest, allowNegative: true, allowPositionals: true, options: CLIENT_FLAGS });
      if (positionals.length !== 1) {
        process.stderr.write('idflow: usage: idflow client update CLIENT_ID [--name …] [--integration …] … (see idflow help)\n');
        return 2;
      }
      return withPlatform(async (s) => {
        const { client, secret } = await s.clients.update(positionals[0]!, await changesOf(values));
        printClient(client, { secret }, values.json, 'updated');
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
      process.stderr.write('idflow: usage: idflow client create|update|list|delete|api-key …\n');
      return 2;
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
