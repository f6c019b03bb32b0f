import { AppError, type FieldProblem } from '../kernel/errors.ts';
import type { ClientRecord, ClientsRepo } from '../storage/clients-repo.ts';

/**
 * Whether a client may use Web KYC, and with which verification provider. Kept in the
 * client's metadata as `web_kyc: {enabled, provider}`, set by `idflow client create --web-kyc`
 * or the import file.
 */
export interface WebKycSettings {
  enabled: boolean;
  provider: string;
}

export const DEFAULT_WEB_KYC_PROVIDER = 'sandbox';
const PROVIDER_NAME = /^[a-z][a-z0-9_-]{0,31}$/;

export function webKycSettings(client: ClientRecord): WebKycSettings | undefined {
  const raw = client.metadata.web_kyc as Partial<WebKycSettings> | undefined;
  if (!raw || raw.enabled !== true) return undefined;
  return { enabled: true, provider: typeof raw.provider === 'string' ? raw.provider : DEFAULT_WEB_KYC_PROVIDER };
}

/** Parses the `web_kyc` entry of an import file or the CLI's `--web-kyc[=provider]`. */
export function parseWebKycSettings(value: unknown): WebKycSettings {
  if (value === true) return { enabled: true, provider: DEFAULT_WEB_KYC_PROVIDER };
  if (value === false) return { enabled: false, provider: DEFAULT_WEB_KYC_PROVIDER };
  if (typeof value === 'string') value = { enabled: true, provider: value };
  const v = value as Partial<WebKycSettings> | null;
  if (!v || typeof v !== 'object' || Array.isArray(v)) {
    throw new AppError('validation_failed', 'web_kyc must be true, false, a provider name or {"enabled": true, "provider": "sandbox"}', {
      fields: [{ field: '/web_kyc', message: 'must be a boolean, a provider name or an object' }],
    });
  }
  const provider = v.provider ?? DEFAULT_WEB_KYC_PROVIDER;
  if (typeof provider !== 'string' || !PROVIDER_NAME.test(provider)) {
    throw new AppError('validation_failed', 'web_kyc.provider is not a provider name', { fields: [{ field: '/web_kyc/provider', message: 'must be a provider name such as sandbox or veriff' }] });
  }
  return { enabled: v.enabled !== false, provider };
}

/**
 * What Web KYC needs of its client: the token exchange authenticates the client with its
 * secret (a public client has none), and the person comes back to a redirect URI.
 */
export function webKycProblems(settings: WebKycSettings, client: { confidential: boolean; redirectUris: readonly string[] }): FieldProblem[] {
  if (!settings.enabled) return [];
  const problems: FieldProblem[] = [];
  if (!client.confidential) problems.push({ field: '/web_kyc', message: 'needs a confidential client (one with a secret)' });
  if (client.redirectUris.length === 0) problems.push({ field: '/redirect_uris', message: 'is required for Web KYC' });
  return problems;
}

/** Turns Web KYC on or off for an existing client, keeping the rest of its metadata. */
export async function saveWebKycSettings(clients: ClientsRepo, clientId: string, settings: WebKycSettings): Promise<ClientRecord> {
  const client = await clients.findById(clientId);
  if (!client) throw new AppError('not_found', `No client ${clientId}`);
  const problems = webKycProblems(settings, { confidential: Boolean(client.secretHash), redirectUris: client.metadata.redirect_uris });
  if (problems.length) throw new AppError('validation_failed', 'The Web KYC settings are not valid for this client', { fields: problems });
  return clients.upsert({ clientId, name: client.name, metadata: { ...client.metadata, web_kyc: settings } });
}
