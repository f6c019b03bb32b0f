/**
 * Builds machine-readable zones (ICAO 9303 TD1, TD2, TD3) from field values, computing
 * every check digit independently of the code under test, so tests can make a valid
 * document with any dates relative to a ManualClock and then break exactly one thing.
 */
import type { Clock } from '../../src/kernel/clock.ts';
import type { VisualData } from '../../src/verification/documents/index.ts';

export type MrzFormat = 'TD1' | 'TD2' | 'TD3';

/** What a check digit protects, in the vocabulary `checkDocument` reports. */
export type CheckDigitName = 'documentNumber' | 'dateOfBirth' | 'dateOfExpiry' | 'optionalData' | 'composite';

export interface MrzSpec {
  format: MrzFormat;
  /** Default `P` (TD3) or `I` (TD1, TD2); a one-letter code is padded with `<`. */
  documentCode?: string;
  issuingState?: string;
  /** Latin letters; spaces and hyphens become fillers. Long names are cut to the field. */
  surname: string;
  givenNames: string;
  /** Up to 9 characters in every format; TD1 and TD2 continue longer ones in the optional data. */
  documentNumber: string;
  nationality?: string;
  /** yyyy-mm-dd */
  dateOfBirth: string;
  sex?: 'M' | 'F' | '<' | 'X';
  /** yyyy-mm-dd */
  dateOfExpiry: string;
  /** TD3 personal number, TD1 first optional field, TD2 optional field. */
  optionalData?: string;
  /** TD1 second optional field (line 2). */
  optionalData2?: string;
}

const VALUES = (char: string): number => {
  if (char === '<') return 0;
  if (char >= '0' && char <= '9') return Number(char);
  if (char >= 'A' && char <= 'Z') return char.charCodeAt(0) - 55;
  throw new Error(`not an MRZ character: ${char}`);
};

/** ICAO 9303 Part 3 §4.9: weights 7, 3, 1 repeating, sum modulo 10. */
export function checkDigit(value: string): string {
  let sum = 0;
  for (let index = 0; index < value.length; index += 1) sum += VALUES(value[index]!) * [7, 3, 1][index % 3]!;
  return String(sum % 10);
}

/** yyyy-mm-dd → YYMMDD */
export function mrzDate(iso: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(iso)) throw new Error(`not a yyyy-mm-dd date: ${iso}`);
  return iso.slice(2, 4) + iso.slice(5, 7) + iso.slice(8, 10);
}

/** The clock's date moved by whole years and days, as yyyy-mm-dd. */
export function dateFrom(clock: Clock, { years = 0, days = 0 }: { years?: number; days?: number }): string {
  const date = clock.now();
  date.setUTCFullYear(date.getUTCFullYear() + years);
  date.setUTCDate(date.getUTCDate() + days);
  return date.toISOString().slice(0, 10);
}

const field = (value: string, length: number) => {
  const text = value.toUpperCase().replace(/[\s-]+/g, '<');
  if (!/^[A-Z0-9<]*$/.test(text)) throw new Error(`not MRZ text: ${value}`);
  return text.slice(0, length).padEnd(length, '<');
};

const nameField = (spec: MrzSpec, length: number) =>
  field(`${spec.surname.trim()}<<${spec.givenNames.trim()}`.replace(/<+$/, ''), length);

const codeField = (spec: MrzSpec) => field(spec.documentCode ?? (spec.format === 'TD3' ? 'P' : 'I'), 2);

/** The document number field, its check digit and what overflows into the optional data. */
function numberParts(number: string, optionalLength: number, optional = '') {
  if (number.length <= 9) return { number: field(number, 9), digit: checkDigit(field(number, 9)), optional };
  const overflow = number.slice(9) + checkDigit(number);
  if (overflow.length + 1 > optionalLength) throw new Error('document number too long for this format');
  return { number: number.slice(0, 9), digit: '<', optional: `${overflow}<${optional}` };
}

export function buildMrz(spec: MrzSpec): string[] {
  const state = field(spec.issuingState ?? 'UTO', 3);
  const nationality = field(spec.nationality ?? spec.issuingState ?? 'UTO', 3);
  const birth = mrzDate(spec.dateOfBirth);
  const expiry = mrzDate(spec.dateOfExpiry);
  const sex = spec.sex ?? '<';
  switch (spec.format) {
    case 'TD1': {
      const parts = numberParts(field(spec.documentNumber, 30).replace(/<+$/, ''), 15, spec.optionalData);
      const line1 = codeField(spec) + state + parts.number + parts.digit + field(parts.optional, 15);
      const head = birth + checkDigit(birth) + sex + expiry + checkDigit(expiry) + nationality;
      const optional2 = field(spec.optionalData2 ?? '', 11);
      const composite = checkDigit(line1.slice(5, 30) + head.slice(0, 7) + head.slice(8, 15) + optional2);
      return [line1, head + optional2 + composite, nameField(spec, 30)];
    }
    case 'TD2': {
      const parts = numberParts(field(spec.documentNumber, 30).replace(/<+$/, ''), 7, spec.optionalData);
      const optional = field(parts.optional, 7);
      const line2 =
        parts.number + parts.digit + nationality + birth + checkDigit(birth) + sex + expiry + checkDigit(expiry) + optional;
      const composite = checkDigit(line2.slice(0, 10) + line2.slice(13, 20) + line2.slice(21, 35));
      return [codeField(spec) + state + nameField(spec, 31), line2 + composite];
    }
    case 'TD3': {
      if (spec.documentNumber.length > 9) throw new Error('TD3 document numbers have at most 9 characters');
      const number = field(spec.documentNumber, 9);
      const personal = field(spec.optionalData ?? '', 14);
      // An unused personal number has a filler for its check digit (ICAO allows 0 too).
      const personalDigit = /^<+$/.test(personal) ? '<' : checkDigit(personal);
      const line2 =
        number +
        checkDigit(number) +
        nationality +
        birth +
        checkDigit(birth) +
        sex +
        expiry +
        checkDigit(expiry) +
        personal +
        personalDigit;
      const composite = checkDigit(line2.slice(0, 10) + line2.slice(13, 20) + line2.slice(21, 43));
      return [codeField(spec) + state + nameField(spec, 39), line2 + composite];
    }
  }
}

/** Where each check digit sits: [line, column]. */
export const CHECK_DIGIT_POSITIONS: Record<MrzFormat, Partial<Record<CheckDigitName, [number, number]>>> = {
  TD1: { documentNumber: [0, 14], dateOfBirth: [1, 6], dateOfExpiry: [1, 14], composite: [1, 29] },
  TD2: { documentNumber: [1, 9], dateOfBirth: [1, 19], dateOfExpiry: [1, 27], composite: [1, 35] },
  TD3: { documentNumber: [1, 9], dateOfBirth: [1, 19], dateOfExpiry: [1, 27], optionalData: [1, 42], composite: [1, 43] },
};

/** The lines with one character replaced. */
export function replaceChar(lines: readonly string[], line: number, column: number, char: string): string[] {
  return lines.map((text, index) => (index === line ? text.slice(0, column) + char + text.slice(column + 1) : text));
}

/** The composite check digit computed afresh over whatever the lines now hold. */
export function recomputeComposite(lines: readonly string[], format: MrzFormat): string[] {
  const [line, column] = CHECK_DIGIT_POSITIONS[format].composite!;
  const [first, second] = lines as [string, string];
  const covered =
    format === 'TD1'
      ? first.slice(5, 30) + second.slice(0, 7) + second.slice(8, 15) + second.slice(18, 29)
      : format === 'TD2'
        ? second.slice(0, 10) + second.slice(13, 20) + second.slice(21, 35)
        : second.slice(0, 10) + second.slice(13, 20) + second.slice(21, 43);
  return replaceChar(lines, line, column, checkDigit(covered));
}

/**
 * The lines with one check digit made wrong. The composite covers the other check digits,
 * so it breaks too — unless `keepComposite` recomputes it, leaving exactly one wrong digit.
 */
export function withWrongCheckDigit(
  lines: readonly string[],
  format: MrzFormat,
  which: CheckDigitName,
  { keepComposite = false } = {},
): string[] {
  const position = CHECK_DIGIT_POSITIONS[format][which];
  if (!position) throw new Error(`${format} has no ${which} check digit`);
  const [line, column] = position;
  const current = lines[line]![column]!;
  const wrong = current === '<' ? '1' : String((Number(current) + 1) % 10);
  const tampered = replaceChar(lines, line, column, wrong);
  return keepComposite && which !== 'composite' ? recomputeComposite(tampered, format) : tampered;
}

/** The visual zone as it would read for a spec (names as given, dates as given). */
export function visualFor(spec: MrzSpec): VisualData {
  const country = (code: string) => (code === 'D' ? 'DEU' : code);
  return {
    surname: spec.surname,
    givenNames: spec.givenNames,
    documentNumber: spec.documentNumber,
    dateOfBirth: spec.dateOfBirth,
    dateOfExpiry: spec.dateOfExpiry,
    dateOfIssue: '',
    sex: spec.sex === 'M' || spec.sex === 'F' ? spec.sex : 'X',
    nationality: country(spec.nationality ?? spec.issuingState ?? 'UTO'),
    issuingCountry: country(spec.issuingState ?? 'UTO'),
  };
}

/**
 * The specimens printed in ICAO Doc 9303 (8th edition): Anna Maria Eriksson of Utopia,
 * born 12 August 1974, documents expiring 15 April 2012. Their check digits were verified
 * with `checkDigit` above. Check them with a clock set before the expiry.
 */
export const SPECIMEN_CLOCK_DATE = new Date('2010-06-01T12:00:00Z');

const SPECIMEN_PERSON = {
  surname: 'ERIKSSON',
  givenNames: 'ANNA MARIA',
  dateOfBirth: '1974-08-12',
  dateOfExpiry: '2012-04-15',
  sex: 'F',
  nationality: 'UTO',
  issuingCountry: 'UTO',
} as const;

export const SPECIMENS = {
  /** Doc 9303 Part 4, passport (TD3). */
  TD3: {
    lines: ['P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<', 'L898902C36UTO7408122F1204159ZE184226B<<<<<10'],
    visual: { ...SPECIMEN_PERSON, documentNumber: 'L898902C3' },
    documentType: 'passport',
  },
  /** Doc 9303 Part 5, identity card (TD1). */
  TD1: {
    lines: ['I<UTOD231458907<<<<<<<<<<<<<<<', '7408122F1204159UTO<<<<<<<<<<<6', 'ERIKSSON<<ANNA<MARIA<<<<<<<<<<'],
    visual: { ...SPECIMEN_PERSON, documentNumber: 'D23145890' },
    documentType: 'idcard',
  },
  /** Doc 9303 Part 6, identity card (TD2). */
  TD2: {
    lines: ['I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<', 'D231458907UTO7408122F1204159<<<<<<<6'],
    visual: { ...SPECIMEN_PERSON, documentNumber: 'D23145890' },
    documentType: 'idcard',
  },
} as const;
