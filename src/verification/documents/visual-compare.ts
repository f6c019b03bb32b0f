import type { MrzName } from './mrz-names.ts';
import { visualNameMatches } from './mrz-names.ts';
import { countryCode } from './document-types.ts';

/** What a person or a provider read from the visual inspection zone of the document. */
export interface VisualData {
  surname: string;
  givenNames: string;
  documentNumber: string;
  /** yyyy-mm-dd */
  dateOfBirth: string;
  /** yyyy-mm-dd */
  dateOfExpiry: string;
  /** yyyy-mm-dd; the MRZ does not carry it, so it is only checked for sense. */
  dateOfIssue: string;
  sex: 'M' | 'F' | 'X';
  /** ISO 3166-1 alpha-3 (or ICAO's `D` for Germany). */
  nationality: string;
  issuingCountry: string;
}

/** The MRZ's side of the comparison, already normalised (dates resolved, countries three letters). */
export interface MrzSide {
  name: MrzName;
  documentNumber: string;
  dateOfBirth: string;
  dateOfExpiry: string;
  sex: 'M' | 'F' | 'X';
  nationality: string;
  issuingCountry: string;
}

type Compared = Exclude<keyof VisualData, 'dateOfIssue'>;

const normaliseCountry = (value: string) => countryCode(value.trim().toUpperCase());
// Document numbers are printed with spaces or hyphens for legibility; the MRZ has neither.
const normaliseNumber = (value: string) => value.toUpperCase().replace(/[\s\-<]/g, '');

/**
 * The names of the visual fields that disagree with the MRZ. A field the visual data does
 * not carry is not compared; one it carries empty is (an empty surname matches nothing).
 */
export function visualMismatches(mrz: MrzSide, visual: Partial<VisualData>): Compared[] {
  const differs: Record<Compared, (value: string) => boolean> = {
    surname: (value) => !visualNameMatches(value, mrz.name.surname, mrz.name.surnameOnly && mrz.name.truncated),
    // With only a surname in a full field the given names were cut away entirely.
    givenNames: (value) =>
      !(mrz.name.surnameOnly && mrz.name.truncated) &&
      !visualNameMatches(value, mrz.name.givenNames, mrz.name.truncated),
    documentNumber: (value) => normaliseNumber(value) !== mrz.documentNumber,
    dateOfBirth: (value) => value.trim() !== mrz.dateOfBirth,
    dateOfExpiry: (value) => value.trim() !== mrz.dateOfExpiry,
    sex: (value) => value.trim().toUpperCase() !== mrz.sex,
    nationality: (value) => normaliseCountry(value) !== mrz.nationality,
    issuingCountry: (value) => normaliseCountry(value) !== mrz.issuingCountry,
  };
  const mismatched: Compared[] = [];
  for (const field of Object.keys(differs) as Compared[]) {
    const value: unknown = visual[field];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string' || differs[field](value)) mismatched.push(field);
  }
  return mismatched;
}
