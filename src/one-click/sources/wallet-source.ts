import { credentialParts } from '../../identity/credential-mapping.ts';
import type { Wallet } from '../../identity/wallet.ts';
import type { CredentialRecord } from '../../storage/credentials-repo.ts';
import type { UsersRepo } from '../../storage/users-repo.ts';
import type { AdditionalInput, RiskSignals } from '../errors.ts';
import { epochMs, type AdditionalInputs, type Candidate, type IdentitySource, type Lookup, type SourcedCell } from './source.ts';

/**
 * The production source: the identity wallet of the person who owns the phone, with the
 * credentials every earlier verification on this platform left there (for any client),
 * each with its real provenance. Wallet types are the 1ClickEntity's credential keys
 * (phone, email, fullName, address, birthDate, ssn, …); composite values are objects.
 *
 * The phone names one user here, so no additional input is ever needed to narrow the search
 * (Verified asks for one only when it cannot); inputs given are checked against the wallet.
 */
export class WalletSource implements IdentitySource {
  readonly #users: UsersRepo;
  readonly #wallet: Wallet;

  constructor(users: UsersRepo, wallet: Wallet) {
    this.#users = users;
    this.#wallet = wallet;
  }

  /** No risk engine is wired in yet: no signals rather than made-up ones. */
  risk(): RiskSignals | undefined {
    return undefined;
  }

  fixedCode(): string | undefined {
    return undefined;
  }

  canText(): boolean {
    return true;
  }

  async lookup(phone: string, inputs: AdditionalInputs): Promise<Lookup> {
    const user = await this.#users.findByPhone(phone);
    if (!user) return { outcome: 'nothing' };
    const credentials = await this.#wallet.valid(user.id);
    const byKey = new Map<string, Candidate[]>();
    // Newest first within each type (the repository's order), so the best value leads.
    for (const credential of credentials) {
      const candidate = toCandidate(credential);
      if (!candidate) continue;
      const list = byKey.get(credential.type) ?? [];
      list.push(candidate);
      byKey.set(credential.type, list);
    }
    const mismatched: AdditionalInput[] = [];
    const birthDates = leafValues(byKey.get('birthDate'));
    if (inputs.birthDate !== undefined && birthDates.length && !birthDates.includes(inputs.birthDate)) mismatched.push('birthDate');
    const ssn4s = leafValues(byKey.get('ssn')).map((s) => s.replace(/\D/g, '').slice(-4));
    if (inputs.ssn4 !== undefined && ssn4s.length && !ssn4s.includes(inputs.ssn4)) mismatched.push('ssn4');
    if (mismatched.length) return { outcome: 'mismatch', mismatched };
    return { outcome: 'found', sourced: { userId: user.id, byKey } };
  }
}

function leafValues(candidates: Candidate[] | undefined): string[] {
  return (candidates ?? []).flatMap((c) => (c.kind === 'leaf' ? [c.cell.value] : []));
}

function toCandidate(credential: CredentialRecord): Candidate | undefined {
  const cell = (value: string): SourcedCell => ({
    value,
    id: credential.id,
    verificationMethod: credential.verificationMethod,
    expirationDate: epochMs(credential.expiresAt),
    walletCredentialId: credential.id,
  });
  const found = credentialParts(credential);
  if (!found) return undefined;
  if (found.kind === 'leaf') return { kind: 'leaf', cell: cell(found.value) };
  return { kind: 'object', cells: Object.fromEntries(Object.entries(found.parts).map(([part, value]) => [part, cell(value)])) };
}
