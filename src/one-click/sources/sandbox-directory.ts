import { randomUUID } from 'node:crypto';
import type { AdditionalInput, RiskSignals } from '../errors.ts';
import type { AdditionalInputs, Candidate, IdentitySource, Lookup, SourcedCell } from './source.ts';

/**
 * The sandbox environment's people: Verified's documented test users (docs.verified.inc
 * v2.0 "Test Users"), so an operator's test suite written against Verified's sandbox passes
 * here unchanged. Every other well-formed +1 number gets Richard's mock data under its own
 * number, as Verified's sandbox "returns mock data for any phone".
 */
export const SANDBOX_CODE = '111111';
export const SANDBOX_BIRTH_DATE = '1989-08-01';
export const SANDBOX_SSN4 = '6789';

interface Address {
  line1: string;
  line2?: string;
  city: string;
  state: string;
  zipCode: string;
  country: 'US';
}

export interface SandboxPerson {
  fullName: { firstName: string; middleName?: string; lastName: string };
  emails: string[];
  addresses: Address[];
  birthDate: string;
  ssn: string;
  risk: RiskSignals;
  /** Inputs needed before anything is found (OCE011); any one of them is enough. */
  needs?: AdditionalInput[];
  /** Found nothing once inputs are given (the documented OCE011-then-OCE013 user). */
  nothingAfterInput?: boolean;
}

const LOW_RISK: RiskSignals = { overall: { score: 100, level: 'low', recommendation: 'allow' } };
const MEDIUM_RISK: RiskSignals = { overall: { score: 463, level: 'medium', recommendation: 'flag' } };
const HIGH_RISK: RiskSignals = { overall: { score: 850, level: 'high', recommendation: 'block' } };

const RICHARD: SandboxPerson = {
  fullName: { firstName: 'Richard', lastName: 'Hendricks' },
  emails: ['richard@piedpiper.net', 'richard@hooli.com'],
  addresses: [
    { line1: '5320 Newell Rd', city: 'Palo Alto', state: 'CA', zipCode: '94303', country: 'US' },
    { line1: '9536 Meadow Dr', line2: 'Apt 301', city: 'San Francisco', state: 'CA', zipCode: '94112', country: 'US' },
    { line1: '7292 Hanover St', city: 'San Jose', state: 'CA', zipCode: '95122', country: 'US' },
  ],
  birthDate: SANDBOX_BIRTH_DATE,
  ssn: '123456789',
  risk: LOW_RISK,
};

/** One standard address in a different US state for each of +12225550000 … +12225550009. */
const TEN_ADDRESSES: Address[] = [
  { line1: '123 Main St', city: 'Springfield', state: 'IL', zipCode: '62701', country: 'US' },
  { line1: '456 Congress Ave', city: 'Austin', state: 'TX', zipCode: '78701', country: 'US' },
  { line1: '789 Pine St', city: 'Seattle', state: 'WA', zipCode: '98101', country: 'US' },
  { line1: '1010 Larimer St', city: 'Denver', state: 'CO', zipCode: '80202', country: 'US' },
  { line1: '2020 Biscayne Blvd', line2: 'Unit 5', city: 'Miami', state: 'FL', zipCode: '33137', country: 'US' },
  { line1: '30 Beacon St', city: 'Boston', state: 'MA', zipCode: '02108', country: 'US' },
  { line1: '4040 N Central Ave', city: 'Phoenix', state: 'AZ', zipCode: '85012', country: 'US' },
  { line1: '505 High St', city: 'Columbus', state: 'OH', zipCode: '43215', country: 'US' },
  { line1: '606 Broadway', city: 'Nashville', state: 'TN', zipCode: '37203', country: 'US' },
  { line1: '707 SW Morrison St', city: 'Portland', state: 'OR', zipCode: '97205', country: 'US' },
];

const like = (changes: Partial<SandboxPerson>): SandboxPerson => ({ ...RICHARD, ...changes });

/** The documented test users, by phone. */
export const SANDBOX_DIRECTORY: ReadonlyMap<string, SandboxPerson> = new Map<string, SandboxPerson>([
  ['+10123456789', RICHARD],
  ['+15555550000', like({ emails: [], risk: LOW_RISK })],
  ['+15555550001', like({ emails: [], risk: MEDIUM_RISK })],
  ['+15555550002', like({ emails: [], risk: HIGH_RISK })],
  ['+10019999999', like({ emails: [], needs: ['birthDate', 'ssn4'] })],
  ['+10019999997', like({ emails: [], needs: ['birthDate'] })],
  ['+10019999996', like({ emails: [], needs: ['ssn4'] })],
  ['+10019999998', like({ emails: [], needs: ['birthDate', 'ssn4'], nothingAfterInput: true })],
  ...TEN_ADDRESSES.map((address, i): [string, SandboxPerson] => [`+1222555000${i}`, like({ emails: [], addresses: [address] })]),
  ['+12225550010', like({ emails: [], addresses: [{ line1: '3167 Av Roosevelt', city: 'Ponce', state: 'PR', zipCode: '00717', country: 'US' }] })],
  ['+12225550012', like({ emails: [], birthDate: '2017-01-01' })],
]);

/** Well-formed NANP numbers; the documented test numbers are not all valid numbers, so no stricter check. */
const SANDBOX_PHONE = /^\+1\d{10}$/;

export function isSandboxPhone(phone: string): boolean {
  return SANDBOX_PHONE.test(phone);
}

// Fixed, far-future expiry for the mock name/address/email values, as Verified's examples show;
// birth date and SSN do not expire.
const MOCK_EXPIRY = '1871839024044';

export class SandboxDirectory implements IdentitySource {
  risk(phone: string): RiskSignals | undefined {
    return this.#person(phone).risk;
  }

  fixedCode(phone: string): string | undefined {
    return SANDBOX_DIRECTORY.has(phone) ? SANDBOX_CODE : undefined;
  }

  canText(phone: string): boolean {
    return !SANDBOX_DIRECTORY.has(phone);
  }

  async lookup(phone: string, inputs: AdditionalInputs): Promise<Lookup> {
    const person = this.#person(phone);
    const riskSignals = person.risk;
    const given = (['birthDate', 'ssn4'] as const).filter((k) => inputs[k] !== undefined);
    if (person.needs && !given.some((k) => person.needs!.includes(k))) return { outcome: 'needs_input', additionalInputs: person.needs, riskSignals };
    if (person.nothingAfterInput) return { outcome: 'nothing', riskSignals };
    const mismatched: AdditionalInput[] = [];
    if (inputs.birthDate !== undefined && inputs.birthDate !== person.birthDate) mismatched.push('birthDate');
    if (inputs.ssn4 !== undefined && inputs.ssn4 !== person.ssn.slice(-4)) mismatched.push('ssn4');
    if (mismatched.length) return { outcome: 'mismatch', mismatched, riskSignals };
    return { outcome: 'found', sourced: { byKey: this.#candidates(person), riskSignals } };
  }

  #person(phone: string): SandboxPerson {
    return SANDBOX_DIRECTORY.get(phone) ?? RICHARD;
  }

  #candidates(person: SandboxPerson): Map<string, Candidate[]> {
    const cell = (value: string, verificationMethod: string, expirationDate: string | null): SourcedCell => ({ value, id: randomUUID(), verificationMethod, expirationDate });
    const object = (value: Record<string, string | undefined>, method: string, expiry: string | null): Candidate => ({
      kind: 'object',
      cells: Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => [k, cell(v!, method, expiry)])),
    });
    return new Map<string, Candidate[]>([
      ['fullName', [object(person.fullName, 'phone_carrier', MOCK_EXPIRY)]],
      ['address', person.addresses.map((a, i) => object({ ...a }, i < 2 ? 'credit_bureau' : 'phone_carrier', MOCK_EXPIRY))],
      ['email', person.emails.map((e): Candidate => ({ kind: 'leaf', cell: cell(e, 'credit_bureau', MOCK_EXPIRY) }))],
      ['birthDate', [{ kind: 'leaf', cell: cell(person.birthDate, 'credit_bureau', null) }]],
      ['ssn', [{ kind: 'leaf', cell: cell(person.ssn, 'credit_bureau', null) }]],
    ]);
  }
}
