import { readFile } from 'node:fs/promises';
import { AppError, isAppError } from '../kernel/errors.ts';
import type { Services } from '../services.ts';
import { holdAdvisoryLock } from '../storage/advisory-locks.ts';
import { parseWebKycSettings } from '../kyc/web-kyc-settings.ts';
import type { ClientChanges } from '../clients/client-service.ts';

/**
 * A declarative file of clients and users, so an operator can keep them in version control
 * and apply it at start (`idflow start --import FILE` or IDFLOW_IMPORT). Applying it again
 * changes nothing that already matches: clients are matched by client_id, users by email
 * (else phone). A client entry changes the fields it names, as `idflow client update`
 * does (`null` removes one); the fields it leaves out keep their values.
 *
 * {
 *   "clients": [{ "client_id", "name", "redirect_uris", "post_logout_redirect_uris", "grant_types",
 *                 "scope", "public", "client_secret", "access_token_ttl", "introspect",
 *                 "token_endpoint_auth_method", "jwks": {"keys": [...]}, "jwks_uri", "verification_step",
 *                 // 1-Click brands:
 *                 "integration": "hosted|semi_hosted|non_hosted", "environment": "sandbox|production",
 *                 "default_redirect_url", "one_click": { "title", "display_name",
 *                 "default_credential_requests", "send_sms", "birth_date_format": "iso|unix_ms" },
 *                 "api_keys": ["<key>", …],
 *                 // Web KYC (Authenteq-compatible): true, a provider name, or {"enabled", "provider"}
 *                 "web_kyc": { "enabled": true, "provider": "sandbox" },
 *                 // Webhook subscriptions, matched by URL (docs/notifications.md):
 *                 "webhooks": [{ "url", "event_types": ["one_click.completed", …], "secret": "whsec_…", "description" }] }],
 *   "users":   [{ "email", "phone", "password" }]
 * }
 */
export interface ImportSummary {
  clients: { created: number; updated: number };
  users: { created: number; updated: number };
  /** Only when the file names webhook subscriptions. */
  webhooks?: { created: number; updated: number };
}

export async function importFile(services: Services, path: string): Promise<ImportSummary> {
  let document: unknown;
  try {
    document = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new AppError('validation_failed', `The import file ${path} cannot be read as JSON: ${(error as Error).message}`);
  }
  try {
    return await applyImport(services, document);
  } catch (error) {
    if (!isAppError(error)) throw error;
    throw new AppError(error.code, `The import file ${path} is not valid: ${error.publicMessage}`, { fields: error.fields });
  }
}

/**
 * Applies a whole file or nothing of it: every entry is checked and written in one
 * transaction, and any entry that is refused rolls all of them back. Every refused entry is
 * named, not only the first. Nodes starting together with the same file apply it one after
 * the other.
 */
export async function applyImport(services: Services, document: unknown): Promise<ImportSummary> {
  const doc = document as { clients?: unknown; users?: unknown };
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new AppError('validation_failed', 'The import file must hold a JSON object with "clients" and/or "users"');
  const clients = arrayOf(doc.clients, 'clients');
  const users = arrayOf(doc.users, 'users');

  const summary = await services.db.transaction(async (tx) => {
    await holdAdvisoryLock(tx, 'importFile');
    const r = services.registrationOn(tx);
    const summary: ImportSummary = { clients: { created: 0, updated: 0 }, users: { created: 0, updated: 0 } };
    const refused: AppError[] = [];
    const entry = async (where: string, fn: () => Promise<void>) => {
      const problem = await named(where, fn);
      if (problem) refused.push(problem);
    };

    for (const [i, item] of clients.entries()) {
      const c = item as Record<string, unknown>;
      await entry(`clients[${i}]`, async () => {
        if (typeof c.client_id !== 'string') throw new AppError('validation_failed', 'client_id is required', { fields: [{ field: '/client_id', message: 'is required' }] });
        const { created } = await r.clients.save({ clientId: c.client_id, ...clientChangesOf(c) });
        // Keys named here are made live (idempotent); keys made elsewhere are left alone.
        for (const key of strings(c.api_keys) ?? []) await r.apiKeys.ensure(c.client_id, key);
        summary.clients[created ? 'created' : 'updated'] += 1;
      });
      // Subscriptions named here are made or brought in line; others of the client are left alone.
      for (const [j, hook] of arrayOf(c.webhooks, `clients[${i}].webhooks`).entries()) {
        const w = (hook ?? {}) as Record<string, unknown>;
        await entry(`clients[${i}].webhooks[${j}]`, async () => {
          const { created } = await r.webhooks.save(String(c.client_id), { url: String(w.url ?? ''), eventTypes: strings(w.event_types) ?? [], description: str(w.description), secret: String(w.secret ?? '') });
          summary.webhooks ??= { created: 0, updated: 0 };
          summary.webhooks[created ? 'created' : 'updated'] += 1;
        });
      }
    }
    for (const [i, item] of users.entries()) {
      const u = item as Record<string, unknown>;
      await entry(`users[${i}]`, async () => {
        const { created } = await r.users.createOrUpdate({ email: str(u.email), phone: str(u.phone), password: str(u.password) });
        summary.users[created ? 'created' : 'updated'] += 1;
      });
    }
    if (refused.length === 1) throw refused[0];
    if (refused.length) throw new AppError('validation_failed', refused.map((e) => e.publicMessage).join('; '), { fields: refused.flatMap((e) => e.fields) });
    return summary;
  });
  // Keys this node remembers must see the new brand settings now, not in a few seconds.
  services.apiKeys.forgetCached();
  await services.oauth.reloadIfChanged();
  return summary;
}

function arrayOf(value: unknown, name: string): unknown[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new AppError('validation_failed', `"${name}" must be an array`);
  return value;
}

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
const bool = (v: unknown) => (typeof v === 'boolean' ? v : undefined);
const strings = (v: unknown) => (Array.isArray(v) ? v.map(String) : undefined);
/** A field of the file: absent keeps the stored value, `null` removes it, anything else is read by `read`. */
const field = <T>(v: unknown, read: (v: unknown) => T | undefined): T | null | undefined => (v === null ? null : read(v));

/**
 * A client entry as a change to the client. An entry describes the fields it names: the
 * others keep what is stored (a new client gets the defaults), and `null` removes a field.
 */
function clientChangesOf(c: Record<string, unknown>): ClientChanges {
  return {
    name: str(c.name),
    redirectUris: field(c.redirect_uris, strings),
    postLogoutRedirectUris: field(c.post_logout_redirect_uris, strings),
    grantTypes: field(c.grant_types, strings),
    scope: field(c.scope, str),
    public: bool(c.public),
    // Given but not a string is refused by the validation, not ignored.
    tokenEndpointAuthMethod: c.token_endpoint_auth_method === undefined ? undefined : String(c.token_endpoint_auth_method),
    jwks: c.jwks,
    jwksUri: field(c.jwks_uri, (v) => (v === undefined ? undefined : String(v))),
    secret: str(c.client_secret),
    accessTokenTtl: field(c.access_token_ttl, (v) => (typeof v === 'number' ? v : undefined)),
    introspect: bool(c.introspect),
    verificationStep: bool(c.verification_step),
    oneClick: c.one_click === null ? null : oneClickOf(c),
    // Web KYC: true, false, a provider name, or {"enabled", "provider"}.
    webKyc: field(c.web_kyc, (v) => (v === undefined ? undefined : parseWebKycSettings(v))),
  };
}

/** The 1-Click brand fields of a client entry, or undefined when it names none. */
function oneClickOf(c: Record<string, unknown>): ClientChanges['oneClick'] {
  const o = (c.one_click ?? {}) as Record<string, unknown>;
  if (c.integration === undefined && c.environment === undefined && c.default_redirect_url === undefined && c.one_click === undefined) return undefined;
  return {
    integration: str(c.integration),
    environment: str(c.environment),
    defaultRedirectUrl: field(c.default_redirect_url, str),
    title: str(o.title),
    displayName: field(o.display_name, str),
    defaultCredentialRequests: field(o.default_credential_requests, (v) => v),
    sendSms: bool(o.send_sms),
    birthDateFormat: str(o.birth_date_format),
  };
}

/** Runs one entry; a refusal comes back with where the entry stands in the file, anything else is thrown. */
async function named(where: string, fn: () => Promise<void>): Promise<AppError | undefined> {
  try {
    await fn();
    return undefined;
  } catch (error) {
    if (!isAppError(error)) throw error;
    const fields = error.fields.map((f) => `${where}${f.field.replaceAll('/', '.')}: ${f.message}`);
    return new AppError(error.code, fields.length ? fields.join('; ') : `${where}: ${error.publicMessage}`, { fields: error.fields });
  }
}
