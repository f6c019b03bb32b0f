import { randomUUID } from 'node:crypto';
import type { Clock } from '../../kernel/clock.ts';
import type { CheckDetail, DocumentData, RejectionReason } from '../../kernel/evidence.ts';
import { countryCode, documentTypeFor } from './document-types.ts';
import { isCalendarDate, isExpired, resolveBirthDate, resolveExpiryDate, todayIso } from './mrz-dates.ts';
import { readMrz } from './mrz-read.ts';
import { visualMismatches, type MrzSide, type VisualData } from './visual-compare.ts';

/**
 * The document checks idflow makes itself, whatever provider captured the document:
 *
 *   1. read the MRZ (TD1, TD2 or TD3)             → document_unreadable
 *   2. every check digit adds up                   → mrz_check_digit
 *   3. the dates are real dates                    → document_unreadable
 *   4. the document has not expired (by the clock) → document_expired
 *   5. the visual zone says what the MRZ says      → mrz_visual_mismatch
 *
 * Steps 1–3 stop at the first failure (nothing after them can be trusted); 4 and 5 are
 * both reported. `fields` names the fields involved and never their values, so a result
 * can be logged or stored as is.
 */

export interface DocumentInput {
  /** The MRZ lines, as an array or one string with line breaks. */
  mrz: string | readonly string[];
  visual?: Partial<VisualData>;
}

export interface CheckOptions {
  /** Accept ICAO specimens (issuing state `UTO`): for tests and the sandbox only. */
  allowSpecimens?: boolean;
  /** The transaction id to put in the check details; a fresh one by default. */
  txn?: string;
  /**
   * Identity Assurance check method. `vri` — validation of a document from an image taken
   * remotely — is what the MRZ checks are part of; a provider that inspected the document
   * in hand would pass `vpip`.
   */
  checkMethod?: string;
}

export type DocumentCheckResult =
  | { ok: true; document: DocumentData; checks: CheckDetail[] }
  | { ok: false; reasons: RejectionReason[]; fields: string[] };

export const CHECK_ORGANIZATION = 'idflow';

export function checkDocument(input: DocumentInput, clock: Clock, options: CheckOptions = {}): DocumentCheckResult {
  const read = readMrz(input.mrz, { allowSpecimens: options.allowSpecimens });
  if (!read.ok) return { ok: false, reasons: [read.reason], fields: read.fields };
  const { mrz } = read;

  const dateOfBirth = resolveBirthDate(mrz.birthDate, clock);
  const dateOfExpiry = resolveExpiryDate(mrz.expiryDate, clock);
  const undated = [...(dateOfBirth ? [] : ['dateOfBirth']), ...(dateOfExpiry ? [] : ['dateOfExpiry'])];
  if (!dateOfBirth || !dateOfExpiry) return { ok: false, reasons: ['document_unreadable'], fields: undated };
  if (dateOfBirth >= dateOfExpiry) {
    return { ok: false, reasons: ['document_unreadable'], fields: ['dateOfBirth', 'dateOfExpiry'] };
  }

  const visual = input.visual ?? {};
  // The MRZ has no issue date: one read from the visual zone is kept when it is plausible.
  const dateOfIssue = typeof visual.dateOfIssue === 'string' ? visual.dateOfIssue.trim() || undefined : undefined;
  if (dateOfIssue !== undefined && !issueDateMakesSense(dateOfIssue, dateOfBirth, dateOfExpiry, clock)) {
    return { ok: false, reasons: ['document_unreadable'], fields: ['dateOfIssue'] };
  }

  const side: MrzSide = {
    name: mrz.name,
    documentNumber: mrz.documentNumber,
    dateOfBirth,
    dateOfExpiry,
    sex: mrz.sex,
    nationality: countryCode(mrz.nationality),
    issuingCountry: countryCode(mrz.issuingState),
  };
  const reasons: RejectionReason[] = [];
  const fields: string[] = [];
  if (isExpired(dateOfExpiry, clock)) {
    reasons.push('document_expired');
    fields.push('dateOfExpiry');
  }
  const mismatched = visualMismatches(side, visual);
  if (mismatched.length > 0) {
    reasons.push('mrz_visual_mismatch');
    for (const field of mismatched) if (!fields.includes(field)) fields.push(field);
  }
  if (reasons.length > 0) return { ok: false, reasons, fields };

  return {
    ok: true,
    document: {
      documentType: documentTypeFor(mrz.documentCode),
      documentNumber: mrz.documentNumber,
      issuingCountry: side.issuingCountry,
      // The visual zone has the name as written (diacritics, full length); the MRZ only a
      // transliterated, possibly cut, copy. Having matched, the visual one is the better record.
      givenNames: tidyName(visual.givenNames) ?? mrzText(mrz.name.givenNames),
      surname: tidyName(visual.surname) ?? mrzText(mrz.name.surname),
      dateOfBirth,
      nationality: side.nationality,
      dateOfIssue,
      dateOfExpiry,
      sex: mrz.sex,
    },
    checks: [
      {
        check_method: options.checkMethod ?? 'vri',
        organization: CHECK_ORGANIZATION,
        txn: options.txn ?? randomUUID(),
        time: clock.now().toISOString(),
      },
    ],
  };
}

function issueDateMakesSense(dateOfIssue: string, dateOfBirth: string, dateOfExpiry: string, clock: Clock): boolean {
  return (
    isCalendarDate(dateOfIssue) &&
    dateOfIssue >= dateOfBirth &&
    dateOfIssue < dateOfExpiry &&
    dateOfIssue <= todayIso(clock)
  );
}

const mrzText = (value: string) => value.replace(/</g, ' ');

function tidyName(value: unknown): string | undefined {
  const tidy = typeof value === 'string' ? value.trim().replace(/\s+/g, ' ') : undefined;
  return tidy ? tidy : undefined;
}
