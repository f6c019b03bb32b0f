import type { Clock } from '../../kernel/clock.ts';

/**
 * Dates in an MRZ are YYMMDD: the century is not written down, so it is chosen from the
 * clock. A birth date lies in the past; an expiry date may lie up to this many years ahead
 * (passports and identity cards are issued for at most 10–15 years), so `30` read in 2026
 * is 2030 while `50` is 1950 — a document that expired long ago, not one valid until 2050.
 */
export const EXPIRY_HORIZON_YEARS = 20;

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Today's date (UTC) as yyyy-mm-dd: a document is valid through its expiry day. */
export function todayIso(clock: Clock): string {
  return clock.now().toISOString().slice(0, 10);
}

/** True when `iso` is a yyyy-mm-dd string naming a day that exists in the calendar. */
export function isCalendarDate(iso: string): boolean {
  const match = ISO_DATE.exec(iso);
  if (!match) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  // Date.UTC maps years 0–99 onto 1900–1999; setUTCFullYear keeps them as written.
  date.setUTCFullYear(year);
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

function shiftYears(iso: string, years: number): string {
  return `${String(Number(iso.slice(0, 4)) + years).padStart(4, '0')}${iso.slice(4)}`;
}

/**
 * The latest date written as `yymmdd` that is not after `latestIso`, or undefined when
 * `yymmdd` is not six digits forming a real calendar date (e.g. `<<` for an unknown day).
 */
function resolveNotAfter(yymmdd: string, latestIso: string): string | undefined {
  if (!/^\d{6}$/.test(yymmdd)) return undefined;
  const century = Math.floor(Number(latestIso.slice(0, 4)) / 100) * 100;
  const rest = `-${yymmdd.slice(2, 4)}-${yymmdd.slice(4, 6)}`;
  for (const base of [century, century - 100]) {
    const candidate = `${String(base + Number(yymmdd.slice(0, 2))).padStart(4, '0')}${rest}`;
    // `000229` is 29 February 2000, never of 2100 (which has none): fall back a century.
    if (candidate <= latestIso && isCalendarDate(candidate)) return candidate;
  }
  return undefined;
}

export function resolveBirthDate(yymmdd: string, clock: Clock): string | undefined {
  return resolveNotAfter(yymmdd, todayIso(clock));
}

export function resolveExpiryDate(yymmdd: string, clock: Clock): string | undefined {
  return resolveNotAfter(yymmdd, shiftYears(todayIso(clock), EXPIRY_HORIZON_YEARS));
}

export function isExpired(dateOfExpiry: string, clock: Clock): boolean {
  return dateOfExpiry < todayIso(clock);
}
