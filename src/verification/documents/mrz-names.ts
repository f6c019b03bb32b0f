/**
 * Names in the MRZ follow ICAO 9303 Part 3 §6: upper-case A–Z only, the primary identifier
 * (surname) and the secondary identifier (given names) separated by `<<`, components by
 * `<`; national characters transliterated (Ä → AE, ß → SS…), apostrophes dropped, hyphens
 * and spaces written as `<`; a name too long for the field is cut, and a cut field ends in
 * a letter rather than a filler.
 *
 * The visual zone keeps the name as written (`Müller`, `D'Artagnan`, `Anna-Lena`), so the
 * comparison runs the other way: could this visual name have produced that MRZ name?
 */

export interface MrzName {
  /** Components separated by a single `<`, e.g. `DE<LA<VEGA`. */
  surname: string;
  givenNames: string;
  /** No `<<` survived: the surname filled the whole field and there are no given names. */
  surnameOnly: boolean;
  /** The field is full, so the name may have been cut short. */
  truncated: boolean;
}

/** Splits a raw MRZ name field (fillers included). */
export function splitMrzName(field: string): MrzName {
  const truncated = field.length > 0 && !field.endsWith('<');
  const content = field.replace(/<+$/, '');
  const separator = content.indexOf('<<');
  const single = (part: string) => part.replace(/<+/g, '<').replace(/^<|<$/g, '');
  if (separator === -1) {
    return { surname: single(content), givenNames: '', surnameOnly: true, truncated };
  }
  return {
    surname: single(content.slice(0, separator)),
    givenNames: single(content.slice(separator + 2)),
    surnameOnly: false,
    truncated,
  };
}

/** Spelled-out MRZ forms of one visual character; `undefined` when it has none (other scripts). */
type Token = { kind: 'letter'; forms: readonly string[] } | { kind: 'filler' };

/**
 * ICAO's recommended transliteration first, then the plain base letter, which many issuers
 * use instead (MÜLLER is written MUELLER by Germany and MULLER by others).
 */
const TRANSLITERATIONS: Record<string, readonly string[]> = {
  Ä: ['AE', 'A'],
  Å: ['AA', 'A'],
  Æ: ['AE'],
  Ö: ['OE', 'O'],
  Ø: ['OE', 'O'],
  Œ: ['OE'],
  Ü: ['UE', 'U', 'UXX'],
  Ñ: ['N', 'NXX'],
  ẞ: ['SS'],
  Þ: ['TH'],
  Ð: ['D', 'DH'],
  Đ: ['D', 'DJ'],
  Ĳ: ['IJ'],
  Ł: ['L'],
  Ħ: ['H'],
  Ŋ: ['N'],
  Ŀ: ['L'],
};

const FILLERS = /[\s\-‐‑‒–—<.,]/u;
const APOSTROPHES = /['’ʼ‘`´]/u;

function tokenize(visual: string): Token[] | undefined {
  // toUpperCase turns ß into SS and ı into I, which is what ICAO asks for.
  const upper = visual.normalize('NFC').toUpperCase();
  const tokens: Token[] = [];
  for (const char of upper) {
    if (FILLERS.test(char)) {
      tokens.push({ kind: 'filler' });
    } else if (APOSTROPHES.test(char)) {
      // D'ARTAGNAN → DARTAGNAN per ICAO; some issuers write a filler instead.
      tokens.push({ kind: 'letter', forms: ['', '<'] });
    } else if (/^[A-Z]$/.test(char)) {
      tokens.push({ kind: 'letter', forms: [char] });
    } else if (TRANSLITERATIONS[char]) {
      tokens.push({ kind: 'letter', forms: TRANSLITERATIONS[char] });
    } else {
      const base = char.normalize('NFD').replace(/\p{M}/gu, '');
      if (!/^[A-Z]$/.test(base)) return undefined;
      tokens.push({ kind: 'letter', forms: [base] });
    }
  }
  // Fillers at either end carry nothing; in between, a run of them is one `<`.
  while (tokens[0]?.kind === 'filler') tokens.shift();
  while (tokens.at(-1)?.kind === 'filler') tokens.pop();
  return tokens;
}

/**
 * True when `visual`, transliterated by ICAO rules, spells `mrz` exactly, or — with
 * `prefix` (a cut MRZ field) — begins with it.
 */
export function visualNameMatches(visual: string, mrz: string, prefix: boolean): boolean {
  const tokens = tokenize(visual);
  if (!tokens) return false;
  // Runs of fillers collapse, so compare against the MRZ with single fillers too.
  const target = mrz.replace(/<+/g, '<');
  const memo = new Map<number, boolean>();

  // State: next token, next MRZ character, whether the last character emitted was a filler.
  const from = (i: number, j: number, afterFiller: boolean): boolean => {
    if (prefix && j === target.length) return true;
    if (i === tokens.length) return j === target.length;
    const key = (i * (target.length + 1) + j) * 2 + (afterFiller ? 1 : 0);
    const known = memo.get(key);
    if (known !== undefined) return known;
    let result = false;
    const token = tokens[i]!;
    const forms = token.kind === 'filler' ? ['<'] : token.forms;
    for (const form of forms) {
      let k = j;
      let filler = afterFiller;
      let fits = true;
      for (const char of form) {
        if (char === '<' && (filler || k === 0)) continue;
        if (prefix && k === target.length) break;
        if (target[k] !== char) {
          fits = false;
          break;
        }
        k += 1;
        filler = char === '<';
      }
      if (fits && (prefix && k === target.length ? true : from(i + 1, k, filler))) {
        result = true;
        break;
      }
    }
    memo.set(key, result);
    return result;
  };
  return from(0, 0, false);
}
