import type { FieldProblem } from '../kernel/errors.ts';
import { credentialRequestProblems, type CredentialRequest, type Integration } from './credential-requests.ts';
import { BIRTH_DATE_FORMATS, type BirthDateFormat } from './birth-date.ts';

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
  /** How `birthDate` is written in this brand's answers (`iso` when absent). */
  birth_date_format?: BirthDateFormat;
}

export interface OneClickBrandInput {
  integration?: string | undefined;
  environment?: string | undefined;
  defaultRedirectUrl?: string | undefined;
  title?: string | undefined;
  displayName?: string | undefined;
  defaultCredentialRequests?: unknown;
  sendSms?: boolean | undefined;
  birthDateFormat?: string | undefined;
}

/**
 * Where a brand may send people (Hosted): its client's registered redirect URIs and its
 * default redirect URL. A request's `redirectUrl` must be one of them (see redirect-policy.ts).
 */
export function registeredRedirectUrls(metadata: Record<string, unknown>): string[] {
  const brand = brandOf(metadata);
  const uris = Array.isArray(metadata.redirect_uris) ? (metadata.redirect_uris as string[]) : [];
  return brand?.default_redirect_url ? [...uris, brand.default_redirect_url] : uris;
}

/** The brand settings in a client's metadata, or undefined when the client is not a 1-Click brand. */
export function brandOf(metadata: Record<string, unknown>): OneClickBrand | undefined {
  const brand = metadata.one_click as OneClickBrand | undefined;
  return brand && INTEGRATIONS.includes(brand.integration) ? brand : undefined;
}

/** A brand's stored settings as input again, so a change can be applied over them and checked whole. */
export function brandInputOf(brand: OneClickBrand): OneClickBrandInput {
  return {
    integration: brand.integration,
    environment: brand.environment,
    defaultRedirectUrl: brand.default_redirect_url,
    title: brand.title,
    displayName: brand.display_name,
    defaultCredentialRequests: brand.default_credential_requests,
    sendSms: brand.send_sms,
    birthDateFormat: brand.birth_date_format,
  };
}

/**
 * Validates brand settings (the client service has already applied a change over the stored
 * ones). `checkUrl` is the client service's redirect rule (https, or loopback http in development).
 */
export function validateBrand(
  input: OneClickBrandInput,
  checkUrl: (url: string, field: string, problems: FieldProblem[]) => void,
): { brand: OneClickBrand | undefined; problems: FieldProblem[] } {
  const problems: FieldProblem[] = [];
  const { integration, defaultRedirectUrl: redirect, defaultCredentialRequests: requests } = input;
  if (integration === undefined) {
    problems.push({ field: '/integration', message: `is required for 1-Click settings; use ${INTEGRATIONS.join(', ')}` });
  } else if (!(INTEGRATIONS as readonly string[]).includes(integration)) {
    problems.push({ field: '/integration', message: `must be one of ${INTEGRATIONS.join(', ')}` });
  }
  const environment = input.environment ?? 'sandbox';
  if (!(ENVIRONMENTS as readonly string[]).includes(environment)) problems.push({ field: '/environment', message: `must be one of ${ENVIRONMENTS.join(', ')}` });
  const title = input.title ?? 'Signup';
  if (!(TITLES as readonly string[]).includes(title)) problems.push({ field: '/one_click/title', message: `must be one of ${TITLES.join(', ')}` });
  const displayName = input.displayName;
  if (displayName !== undefined && (!displayName.trim() || displayName.length > 100)) problems.push({ field: '/one_click/display_name', message: 'must be 1-100 characters' });
  if (redirect !== undefined) checkUrl(redirect, '/default_redirect_url', problems);
  if (requests !== undefined) problems.push(...credentialRequestProblems(requests, '/one_click/default_credential_requests'));
  const birthDateFormat = input.birthDateFormat ?? 'iso';
  if (!(BIRTH_DATE_FORMATS as readonly string[]).includes(birthDateFormat)) {
    problems.push({ field: '/one_click/birth_date_format', message: `must be one of ${BIRTH_DATE_FORMATS.join(', ')}` });
  }
  if (problems.length) return { brand: undefined, problems };
  return {
    brand: {
      integration: integration as Integration,
      environment: environment as Environment,
      ...(redirect !== undefined ? { default_redirect_url: redirect } : {}),
      title: title as OneClickTitle,
      ...(displayName !== undefined ? { display_name: displayName.trim() } : {}),
      ...(requests !== undefined ? { default_credential_requests: requests as CredentialRequest[] } : {}),
      send_sms: input.sendSms ?? false,
      birth_date_format: birthDateFormat as BirthDateFormat,
    },
    problems,
  };
}
