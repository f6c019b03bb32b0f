import { COMPOSITE_PARTS } from '../identity/credential-mapping.ts';
import type { FieldProblem } from '../kernel/errors.ts';

/**
 * What an operator asks for, in Verified's `CredentialRequest` shape:
 * `{type, mandatory?, children?, description?, allowUserInput?, multi?}`.
 */
export interface CredentialRequest {
  type: string;
  mandatory?: Mandatory;
  children?: CredentialRequest[];
  description?: string;
  allowUserInput?: boolean;
  multi?: boolean;
}

export type Mandatory = 'yes' | 'no' | 'if_available';
export type Integration = 'hosted' | 'semi_hosted' | 'non_hosted';

/** A request with its defaults applied and its output key worked out; what flows store. */
export interface RequestNode {
  type: string;
  /** Key in `credentials` (PhoneCredential → phone, ZipCodeCredential → zipCode). */
  key: string;
  mandatory: Mandatory;
  allowUserInput: boolean;
  description?: string;
  /** Parent only: up to three values, always as an array. Ignored on children. */
  multi: boolean;
  /** Requested parts of a composite credential, in request order; undefined for a leaf. */
  children?: RequestNode[];
}

export const MAX_MULTI = 3;
export const MAX_REQUESTS = 20;
export const CREDENTIAL_TYPE = /^[A-Z][A-Za-z0-9]{0,60}Credential$/;

/**
 * The parts of a known composite. Keys come from the caller (`ConstructorCredential` is
 * `constructor`), so only the table's own entries count, never what objects inherit.
 */
function compositeParts(key: string): readonly string[] | undefined {
  return Object.hasOwn(COMPOSITE_PARTS, key) ? COMPOSITE_PARTS[key] : undefined;
}

/** `ZipCodeCredential` → `zipCode`. */
export function credentialKey(type: string): string {
  const base = type.replace(/Credential$/, '');
  return base.charAt(0).toLowerCase() + base.slice(1);
}

/** The composite a leaf belongs to (firstName → fullName), for a leaf asked for on its own. */
export function compositeOf(key: string): string | undefined {
  return Object.entries(COMPOSITE_PARTS).find(([, parts]) => parts.includes(key))?.[0];
}

const LEAF = (type: string): CredentialRequest => ({ type });
const NAME_PARTS = ['FirstNameCredential', 'MiddleNameCredential', 'LastNameCredential'].map(LEAF);
const ADDRESS_PARTS = ['Line1Credential', 'Line2Credential', 'CityCredential', 'StateCredential', 'CountryCredential', 'ZipCodeCredential'].map(LEAF);

/**
 * The documented defaults when neither the request nor the client's settings name any:
 * the core KYC data, all optional; Hosted also lets the person edit each and offers
 * several addresses.
 */
export function documentedDefaults(integration: Integration): CredentialRequest[] {
  const hosted = integration === 'hosted';
  const editable = hosted ? { allowUserInput: true } : {};
  return [
    { type: 'FullNameCredential', mandatory: 'no', ...editable, children: NAME_PARTS },
    { type: 'PhoneCredential', mandatory: 'no', ...editable },
    { type: 'AddressCredential', mandatory: 'no', ...editable, children: ADDRESS_PARTS, ...(hosted ? { multi: true } : {}) },
    { type: 'BirthDateCredential', mandatory: 'no', ...editable },
    { type: 'SsnCredential', mandatory: 'no', ...editable },
  ];
}

/** Applies defaults and works out keys. A known composite asked for without children gets all its parts. */
export function normalizeRequests(requests: CredentialRequest[]): RequestNode[] {
  return requests.map((r) => normalize(r, false, true));
}

function normalize(request: CredentialRequest, isChild: boolean, parentAllowsInput: boolean): RequestNode {
  const key = credentialKey(request.type);
  const allowUserInput = request.allowUserInput ?? (isChild ? parentAllowsInput : true);
  const node: RequestNode = {
    type: request.type,
    key,
    mandatory: request.mandatory ?? 'no',
    allowUserInput,
    multi: !isChild && request.multi === true,
    ...(request.description !== undefined ? { description: request.description } : {}),
  };
  if (isChild) return node;
  const children = request.children?.length
    ? request.children
    : compositeParts(key)?.map((part) => ({ type: `${part.charAt(0).toUpperCase()}${part.slice(1)}Credential` }));
  if (children) node.children = children.map((c) => normalize(c, true, allowUserInput));
  return node;
}

/**
 * Checks requests that did not come through an HTTP schema (client settings, import
 * files). Same rules as the API's schema: known shape, at most one level of children,
 * no type asked for twice at one level.
 */
export function credentialRequestProblems(value: unknown, field: string): FieldProblem[] {
  const problems: FieldProblem[] = [];
  if (!Array.isArray(value)) return [{ field, message: 'must be an array of credential requests' }];
  if (value.length === 0 || value.length > MAX_REQUESTS) problems.push({ field, message: `must hold 1 to ${MAX_REQUESTS} credential requests` });
  const check = (items: unknown[], path: string, depth: number) => {
    const seen = new Set<string>();
    items.forEach((item, i) => {
      const at = `${path}/${i}`;
      const r = item as Record<string, unknown>;
      if (!r || typeof r !== 'object' || Array.isArray(r)) return void problems.push({ field: at, message: 'must be an object' });
      for (const k of Object.keys(r)) {
        if (!['type', 'mandatory', 'children', 'description', 'allowUserInput', 'multi'].includes(k)) problems.push({ field: `${at}/${k}`, message: 'is not a CredentialRequest field' });
      }
      if (typeof r.type !== 'string' || !CREDENTIAL_TYPE.test(r.type)) problems.push({ field: `${at}/type`, message: 'must be a PascalCase type ending in Credential' });
      else if (seen.has(r.type)) problems.push({ field: `${at}/type`, message: 'is asked for twice' });
      else seen.add(r.type);
      if (r.mandatory !== undefined && !['yes', 'no', 'if_available'].includes(r.mandatory as string)) problems.push({ field: `${at}/mandatory`, message: 'must be yes, no or if_available' });
      if (r.description !== undefined && (typeof r.description !== 'string' || r.description.length > 200)) problems.push({ field: `${at}/description`, message: 'must be text of at most 200 characters' });
      if (r.allowUserInput !== undefined && typeof r.allowUserInput !== 'boolean') problems.push({ field: `${at}/allowUserInput`, message: 'must be true or false' });
      if (r.multi !== undefined && typeof r.multi !== 'boolean') problems.push({ field: `${at}/multi`, message: 'must be true or false' });
      if (r.children !== undefined) {
        if (depth > 0) problems.push({ field: `${at}/children`, message: 'children cannot have children' });
        else if (!Array.isArray(r.children) || r.children.length === 0 || r.children.length > 10) problems.push({ field: `${at}/children`, message: 'must be an array of 1 to 10 credential requests' });
        else check(r.children, `${at}/children`, depth + 1);
      }
    });
  };
  check(value, field, 0);
  return problems;
}

/** Duplicate types at one level: the schema cannot say it, so the core does. */
export function duplicateType(requests: CredentialRequest[]): string | undefined {
  const find = (items: CredentialRequest[]): string | undefined => {
    const seen = new Set<string>();
    for (const r of items) {
      if (seen.has(r.type)) return r.type;
      seen.add(r.type);
      const inner = r.children ? find(r.children) : undefined;
      if (inner) return inner;
    }
    return undefined;
  };
  return find(requests);
}

const LABELS: Record<string, string> = {
  phone: 'Phone number',
  email: 'Email',
  fullName: 'Full name',
  firstName: 'First name',
  middleName: 'Middle name',
  lastName: 'Last name',
  address: 'Address',
  line1: 'Address line 1',
  line2: 'Address line 2',
  city: 'City',
  state: 'State',
  zipCode: 'ZIP code',
  country: 'Country',
  birthDate: 'Date of birth',
  ssn: 'Social Security number',
};

/** A human label for a credential key (the Hosted pages show it). */
export function labelOf(key: string): string {
  if (Object.hasOwn(LABELS, key)) return LABELS[key]!;
  const words = key.replace(/([A-Z])/g, ' $1').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}
