import { parse, type Details, type FieldName, type ParseResult } from 'mrz';
import { splitMrzName, type MrzName } from './mrz-names.ts';

/**
 * Reads an ICAO 9303 machine-readable zone with the `mrz` package and sorts what is wrong
 * with it into the two reasons the engine knows: a check digit that does not add up
 * (`mrz_check_digit`), or anything else that keeps it from being read
 * (`document_unreadable`). Field names are ours (the DocumentData vocabulary), never the
 * package's messages, which quote the values.
 */

export type MrzFormat = 'TD1' | 'TD2' | 'TD3';

/** The lines of each supported format. */
const SHAPES: Record<MrzFormat, { lines: number; length: number }> = {
  TD1: { lines: 3, length: 30 },
  TD2: { lines: 2, length: 36 },
  TD3: { lines: 2, length: 44 },
};

/** Anything longer than three TD1 lines plus generous line breaks is not an MRZ. */
export const MAX_MRZ_INPUT_CHARS = 200;

/** Where the sex is written: it is in no check digit, so `X` can be read as the `<` ICAO asks for. */
const SEX_POSITION: Record<MrzFormat, { line: number; column: number }> = {
  TD1: { line: 1, column: 7 },
  TD2: { line: 1, column: 20 },
  TD3: { line: 1, column: 20 },
};

const NAME_FIELD: Record<MrzFormat, { line: number; start: number; end: number }> = {
  TD1: { line: 2, start: 0, end: 30 },
  TD2: { line: 0, start: 5, end: 36 },
  TD3: { line: 0, start: 5, end: 44 },
};

/** Check digits by what they protect. TD1 and TD2 optional data have none of their own (the composite covers them). */
const CHECK_DIGITS: Partial<Record<FieldName, string>> = {
  documentNumberCheckDigit: 'documentNumber',
  birthDateCheckDigit: 'dateOfBirth',
  expirationDateCheckDigit: 'dateOfExpiry',
  personalNumberCheckDigit: 'optionalData',
  compositeCheckDigit: 'composite',
};

const CONTENT: Partial<Record<FieldName, string>> = {
  documentCode: 'documentType',
  issuingState: 'issuingCountry',
  nationality: 'nationality',
  lastName: 'surname',
  firstName: 'givenNames',
  documentNumber: 'documentNumber',
  birthDate: 'dateOfBirth',
  expirationDate: 'dateOfExpiry',
  sex: 'sex',
  optional: 'optionalData',
  optional1: 'optionalData',
  optional2: 'optionalData',
  personalNumber: 'optionalData',
};

/** ICAO's fictional issuing state, used on every published specimen. */
export const SPECIMEN_STATE = 'UTO';

export interface MrzReading {
  format: MrzFormat;
  /** One or two letters, e.g. `P`, `PD`, `I`, `ID`, `AR`. */
  documentCode: string;
  /** As written (`D` for Germany included). */
  issuingState: string;
  nationality: string;
  documentNumber: string;
  /** YYMMDD as written; the century is resolved against a clock later. */
  birthDate: string;
  expiryDate: string;
  sex: 'M' | 'F' | 'X';
  name: MrzName;
}

export type MrzReadResult =
  | { ok: true; mrz: MrzReading }
  | { ok: false; reason: 'document_unreadable' | 'mrz_check_digit'; fields: string[] };

export interface ReadOptions {
  /** Accept the ICAO specimen state `UTO` (tests and the sandbox; never a real person). */
  allowSpecimens?: boolean;
}

const unreadable = (...fields: string[]): MrzReadResult => ({ ok: false, reason: 'document_unreadable', fields });

/** Lines from a string with line breaks, an array of lines, or the lines run together. */
function toLines(mrz: unknown): string[] | undefined {
  const parts = typeof mrz === 'string' ? [mrz] : Array.isArray(mrz) ? mrz : undefined;
  if (!parts || !parts.every((part): part is string => typeof part === 'string')) return undefined;
  if (parts.reduce((total, part) => total + part.length, 0) > MAX_MRZ_INPUT_CHARS) return undefined;
  const lines = parts.flatMap((part) => part.split(/\r\n|\r|\n/)).map((line) => line.trim()).filter(Boolean);
  const [only] = lines;
  if (lines.length === 1 && only !== undefined) {
    for (const { lines: count, length } of Object.values(SHAPES)) {
      if (only.length === count * length) {
        return Array.from({ length: count }, (_, index) => only.slice(index * length, (index + 1) * length));
      }
    }
  }
  return lines;
}

function formatOf(lines: string[]): MrzFormat | undefined {
  for (const [format, shape] of Object.entries(SHAPES) as [MrzFormat, (typeof SHAPES)[MrzFormat]][]) {
    if (lines.length === shape.lines && lines.every((line) => line.length === shape.length)) return format;
  }
  return undefined;
}

function replaceAt(line: string, column: number, char: string): string {
  return line.slice(0, column) + char + line.slice(column + 1);
}

/**
 * A document number longer than nine characters continues in the optional data, followed
 * by its check digit (TD1/TD2, with `<` in the check digit's place). The package reads a
 * missing continuation as a check digit of 0, so the shape is verified here first.
 */
function overflowIsWellFormed(format: MrzFormat, lines: string[]): boolean {
  if (format === 'TD3') return true;
  const [checkLine, checkColumn, optional] =
    format === 'TD1' ? [0, 14, lines[0]!.slice(15, 30)] : [1, 9, lines[1]!.slice(28, 35)];
  if (lines[checkLine]![checkColumn] !== '<') return true;
  return /^[A-Z0-9]+[0-9](<|$)/.test(optional);
}

/** The characters a detail was read from (for a long document number's check digit, the embedded one). */
function writtenAt(lines: string[], detail: Details): string {
  return lines[detail.line]?.slice(detail.start, detail.end) ?? '';
}

function namesOf(details: Details[], table: Partial<Record<FieldName, string>>): string[] {
  const names = new Set<string>();
  for (const detail of details) {
    const name = detail.field ? table[detail.field] : undefined;
    if (name) names.add(name);
  }
  return [...names];
}

export function readMrz(input: unknown, options: ReadOptions = {}): MrzReadResult {
  const lines = toLines(input);
  if (!lines || !lines.every((line) => /^[A-Z0-9<]+$/.test(line))) return unreadable('mrz');
  const format = formatOf(lines);
  if (!format) return unreadable('mrz');
  // Visas (MRV-A 2×44, MRV-B 2×36) start with V; they prove a permission to enter, not an
  // identity, and the parser has no layout for them.
  if (lines[0]!.startsWith('V')) return unreadable('documentType');

  const sexAt = SEX_POSITION[format];
  const writtenSex = lines[sexAt.line]![sexAt.column];
  if (writtenSex === 'X') lines[sexAt.line] = replaceAt(lines[sexAt.line]!, sexAt.column, '<');

  let result: ParseResult;
  try {
    result = parse(lines);
  } catch {
    return unreadable('mrz');
  }
  // Two 36-character lines with digits in the name are read as the old French identity card.
  if (result.format !== format) return unreadable('mrz');

  const failed = result.details.filter(
    (detail) =>
      !detail.valid &&
      !(
        options.allowSpecimens &&
        (detail.field === 'issuingState' || detail.field === 'nationality') &&
        detail.ranges[0] &&
        lines[detail.ranges[0].line]!.slice(detail.ranges[0].start, detail.ranges[0].end) === SPECIMEN_STATE
      ),
  );
  // A letter where a check digit belongs was misread or never was an MRZ: unreadable, like
  // any field that breaks its format. A digit (or filler) that does not add up is a check digit failure.
  const illegible = failed.filter(
    (detail) => !(detail.field && detail.field in CHECK_DIGITS) || /[A-Z]/.test(writtenAt(lines, detail)),
  );
  if (illegible.length > 0) {
    const fields = [...namesOf(illegible, CONTENT), ...namesOf(illegible, CHECK_DIGITS)];
    return unreadable(...new Set(fields.length > 0 ? fields : ['mrz']));
  }
  const badDigits = namesOf(failed, CHECK_DIGITS);
  if (!overflowIsWellFormed(format, lines) && !badDigits.includes('documentNumber')) badDigits.unshift('documentNumber');
  if (badDigits.length > 0) return { ok: false, reason: 'mrz_check_digit', fields: badDigits };

  const fields = result.fields;
  const state = (field: 'issuingState' | 'nationality', line: number, start: number) =>
    fields[field] ?? lines[line]!.slice(start, start + 3).replace(/<+$/, '');
  const nationalityAt = format === 'TD1' ? [1, 15] : [1, 10];
  const nameField = NAME_FIELD[format];
  const sex = writtenSex === 'M' || writtenSex === 'F' ? writtenSex : 'X';
  return {
    ok: true,
    mrz: {
      format,
      documentCode: fields.documentCode ?? '',
      issuingState: state('issuingState', 0, 2),
      nationality: state('nationality', nationalityAt[0]!, nationalityAt[1]!),
      documentNumber: result.documentNumber ?? '',
      birthDate: fields.birthDate ?? '',
      expiryDate: fields.expirationDate ?? '',
      sex,
      name: splitMrzName(lines[nameField.line]!.slice(nameField.start, nameField.end)),
    },
  };
}
