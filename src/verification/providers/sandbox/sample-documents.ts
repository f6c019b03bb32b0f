import type { Clock } from '../../../kernel/clock.ts';
import type { VisualData } from '../../documents/index.ts';

/**
 * Test passports for the sandbox, written as ICAO 9303 TD3 machine-readable zones with
 * real check digits, issued by ICAO's specimen state `UTO` (which only the sandbox
 * accepts). Dates are relative to the clock, so the valid one stays valid and the expired
 * one stays expired whenever the sandbox runs.
 */

export type SampleName = 'valid' | 'expired' | 'timeout';

export interface SampleDocument {
  name: SampleName;
  label: string;
  mrz: [string, string];
  visual: VisualData;
}

/** ICAO 9303 Part 3 §4.9: weights 7, 3, 1; digits as themselves, A–Z as 10–35, `<` as 0. */
export function checkDigit(text: string): string {
  let sum = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    const value = c === '<' ? 0 : /\d/.test(c) ? Number(c) : c.charCodeAt(0) - 55;
    sum += value * [7, 3, 1][i % 3]!;
  }
  return String(sum % 10);
}

const pad = (text: string, length: number) => text.padEnd(length, '<').slice(0, length);
const mrzName = (text: string) => text.toUpperCase().replace(/[^A-Z]+/g, '<');
const yymmdd = (iso: string) => iso.slice(2, 4) + iso.slice(5, 7) + iso.slice(8, 10);

/** A TD3 (passport) MRZ for the given data. */
export function td3(data: {
  issuingCountry: string;
  surname: string;
  givenNames: string;
  documentNumber: string;
  nationality: string;
  dateOfBirth: string;
  sex: 'M' | 'F' | 'X';
  dateOfExpiry: string;
  personalNumber?: string;
}): [string, string] {
  const line1 = pad(`P<${pad(data.issuingCountry, 3)}${mrzName(data.surname)}<<${mrzName(data.givenNames)}`, 44);
  const number = pad(data.documentNumber, 9);
  const birth = yymmdd(data.dateOfBirth);
  const expiry = yymmdd(data.dateOfExpiry);
  const personal = pad(data.personalNumber ?? '', 14);
  const personalDigit = data.personalNumber ? checkDigit(personal) : '<';
  const parts = [number + checkDigit(number), birth + checkDigit(birth), expiry + checkDigit(expiry), personal + personalDigit];
  const composite = checkDigit(parts.join(''));
  const line2 = `${parts[0]}${pad(data.nationality, 3)}${parts[1]}${data.sex === 'X' ? '<' : data.sex}${parts[2]}${parts[3]}${composite}`;
  return [line1, line2];
}

function shiftYears(iso: string, years: number): string {
  return `${Number(iso.slice(0, 4)) + years}${iso.slice(4)}`;
}

/** The sample passports for today, by the clock. */
export function sampleDocuments(clock: Clock): SampleDocument[] {
  // The 1st of the month exists in every year, whatever today is.
  const firstOfMonth = `${clock.now().toISOString().slice(0, 7)}-01`;
  const make = (name: SampleName, label: string, surname: string, documentNumber: string, dateOfExpiry: string): SampleDocument => {
    const visual: VisualData = {
      surname,
      givenNames: 'Anna Maria',
      documentNumber,
      dateOfBirth: '1974-08-12',
      dateOfExpiry,
      dateOfIssue: shiftYears(dateOfExpiry, -10),
      sex: 'F',
      nationality: 'UTO',
      issuingCountry: 'UTO',
    };
    return { name, label, mrz: td3({ ...visual, surname, givenNames: visual.givenNames }), visual };
  };
  return [
    make('valid', 'Valid passport (verified)', 'Eriksson', 'L898902C3', shiftYears(firstOfMonth, 5)),
    make('expired', 'Expired passport (rejected: document_expired)', 'Eriksson', 'L898902C3', shiftYears(firstOfMonth, -1)),
    make('timeout', 'Passport of TIMEOUT (no answer: provider_timeout)', 'Timeout', 'T1234567', shiftYears(firstOfMonth, 5)),
  ];
}

/** The sandbox never answers for a document whose surname is this (documented test input). */
export const TIMEOUT_SURNAME = 'TIMEOUT';
