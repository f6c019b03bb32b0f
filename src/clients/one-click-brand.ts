import type { FieldProblem } from '../kernel/errors.ts';
import { credentialRequestProblems, type CredentialRequest, type Integration } from '../one-click/credential-requests.ts';

export const INTEGRATIONS = ['hosted', 'semi_hosted', 'non_hosted'] as const;
export const ENVIRONMENTS = ['sandbox', 'production'] as const;
export const TITLES = ['Signup', 'Login', 'Verify', 'Apply'] as const;

export type Environment = (typeof ENVIRONMENTS)[number];
export type OneClickTitle = (typeof TITLES)[number];

/** A client's 1-Click brand settings, kept in its metadata document under `one_click`. */
export interface OneClickBrand {
  integration: Integration;
  /** sandbox: the built-in test directory answers; production: the identity wallet does. */
  environment: Environment;
  default_redirect_url?: string;
  /** The word after "1-Click" on the Hosted pages, unless a request names one. */
  title: OneClickTitle;
  /** The name the person sees (Hosted pages, SMS); the client's name otherwise. */
  display_name?: string;
  default_credential_requests?: CredentialRequest[];
  /** idflow texts the code itself (the operator still gets it in the response). */
  send_sms: boolean;
}

export interface OneClickBrandInput {
  integration?: string | undefined;
  environment?: string | undefined;
  defaultRedirectUrl?: string | undefined;
  title?: string | undefined;
  displayName?: string | undefined;
  defaultCredentialRequests?: unknown;
  sendSms?: boolean | undefined;
}

/** The brand settings in a client's metadata, or undefined when the client is not a 1-Click brand. */
export function brandOf(metadata: Record<string, unknown>): OneClickBrand | undefined {
  const brand = metadata.one_click as OneClickBrand | undefined;
  return brand && INTEGRATIONS.includes(brand.integration) ? brand : undefined;
}

/**
 * Validates brand settings, merged over the ones the client already has (an import that
 * names only `environment` keeps the rest). `checkUrl` is the client service's redirect
 * rule (https, or loopback http in development).
 */
export function validateBrand(
  input: OneClickBrandInput,
  existing: OneClickBrand | undefined,
  checkUrl: (url: string, field: string, problems: FieldProblem[]) => void,
): { brand: OneClickBrand | undefined; problems: FieldProblem[] } {
  const problems: FieldProblem[] = [];
  const integration = input.integration ?? existing?.integration;
  if (integration === undefined) {
    problems.push({ field: '/integration', message: `is required for 1-Click settings; use ${INTEGRATIONS.join(', ')}` });
  } else if (!(INTEGRATIONS as readonly string[]).includes(integration)) {
    problems.push({ field: '/integration', message: `must be one of ${INTEGRATIONS.join(', ')}` });
  }
  const environment = input.environment ?? existing?.environment ?? 'sandbox';
  if (!(ENVIRONMENTS as readonly string[]).includes(environment)) problems.push({ field: '/environment', message: `must be one of ${ENVIRONMENTS.join(', ')}` });
  const title = input.title ?? existing?.title ?? 'Signup';
  if (!(TITLES as readonly string[]).includes(title)) problems.push({ field: '/one_click/title', message: `must be one of ${TITLES.join(', ')}` });
  const displayName = input.displayName ?? existing?.display_name;
  if (displayName !== undefined && (!displayName.trim() || displayName.length > 100)) problems.push({ field: '/one_click/display_name', message: 'must be 1-100 characters' });
  const redirect = input.defaultRedirectUrl ?? existing?.default_redirect_url;
  if (redirect !== undefined) checkUrl(redirect, '/default_redirect_url', problems);
  const requests = input.defaultCredentialRequests ?? existing?.default_credential_requests;
  if (requests !== undefined) problems.push(...credentialRequestProblems(requests, '/one_click/default_credential_requests'));
  if (problems.length) return { brand: undefined, problems };
  return {
    brand: {
      integration: integration as Integration,
      environment: environment as Environment,
      ...(redirect !== undefined ? { default_redirect_url: redirect } : {}),
      title: title as OneClickTitle,
      ...(displayName !== undefined ? { display_name: displayName.trim() } : {}),
      ...(requests !== undefined ? { default_credential_requests: requests as CredentialRequest[] } : {}),
      send_sms: input.sendSms ?? existing?.send_sms ?? false,
    },
    problems,
  };
}
