import type { DocumentData } from '../../kernel/evidence.ts';

/**
 * The document code is the first one or two letters of the MRZ (ICAO 9303 Parts 4–6):
 * P for passports (PD diplomatic, PS service…), I/A/C for official travel documents in
 * card formats — among them R in second place for residence permits (Germany's AR, the
 * IR of several issuers) and AC for crew member certificates.
 */
export function documentTypeFor(code: string): DocumentData['documentType'] {
  const [first, second] = code;
  if (first === 'P') return 'passport';
  if (second === 'R') return 'residence_permit';
  if (code === 'AC') return 'other';
  return 'idcard';
}

/**
 * MRZ states are ISO 3166-1 alpha-3 with ICAO's additions (GBD, UNO, XXA, EUE…), except
 * Germany, which writes a single `D`. DocumentData promises three letters, so `D` becomes
 * DEU; the ICAO additions stay as written.
 */
export function countryCode(mrzState: string): string {
  return mrzState === 'D' ? 'DEU' : mrzState;
}
