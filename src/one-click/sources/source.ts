import type { AdditionalInput, RiskSignals } from '../errors.ts';

/** One value as found, with the provenance the 1ClickEntity's metadata mirrors. */
export interface SourcedCell {
  value: string;
  /** Metadata `id`: the wallet credential's id, or a fresh uuid for values that are not one. */
  id: string;
  verificationMethod: string;
  /** Epoch milliseconds as a string, or null when the value does not expire. */
  expirationDate: string | null;
  /** The wallet credential this value came from; what a consent names. */
  walletCredentialId?: string;
}

/** One candidate value of a credential: a leaf (birthDate) or a composite (address). */
export type Candidate = { kind: 'leaf'; cell: SourcedCell } | { kind: 'object'; cells: Record<string, SourcedCell> };

export interface Sourced {
  /** The wallet's owner, when the data came from the wallet. */
  userId?: string;
  /** Candidates per credential key (fullName, address, birthDate…), best first. */
  byKey: Map<string, Candidate[]>;
  riskSignals?: RiskSignals;
}

export interface AdditionalInputs {
  birthDate?: string | undefined;
  ssn4?: string | undefined;
}

export type Lookup =
  | { outcome: 'found'; sourced: Sourced }
  | { outcome: 'needs_input'; additionalInputs: AdditionalInput[]; riskSignals?: RiskSignals }
  | { outcome: 'mismatch'; mismatched: AdditionalInput[]; riskSignals?: RiskSignals }
  | { outcome: 'nothing'; riskSignals?: RiskSignals };

/**
 * Where a 1-Click request's data comes from: the identity wallet (production) or the
 * built-in test directory (sandbox). Both answer the same questions the same way.
 */
export interface IdentitySource {
  /** Risk signals for a phone before anything else happens; `block` stops the request. */
  risk(phone: string): RiskSignals | undefined;
  /** The person behind the phone, checked against the inputs given (birth date, SSN4). */
  lookup(phone: string, inputs: AdditionalInputs): Promise<Lookup>;
  /** A fixed verification code for this phone (sandbox test users), or undefined for a random one. */
  fixedCode(phone: string): string | undefined;
  /** Whether texting this phone makes sense (test numbers do not exist). */
  canText(phone: string): boolean;
}

export function epochMs(date: Date | undefined): string | null {
  return date ? String(date.getTime()) : null;
}
