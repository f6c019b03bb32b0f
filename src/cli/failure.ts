import { ConfigError } from '../config/index.ts';
import { isAppError } from '../kernel/errors.ts';
import { DataFolderInUseError } from '../storage/data-folder-lock.ts';

/**
 * Exit statuses of every idflow command, `start` included, so a supervisor or a script can
 * tell a mistake to fix from a condition that passes. Documented in docs/operations.md.
 */
export const EXIT = {
  ok: 0,
  /** The command failed, or the server could not start (port in use, bad import file, database unreachable). */
  failed: 1,
  /** Bad usage or configuration: retrying changes nothing. */
  usage: 2,
  /** The embedded data folder is held by another live process. */
  dataFolderInUse: 3,
  /** `idflow audit verify` found the audit log tampered with (or a kept checkpoint not genuine or not held). */
  tampered: 4,
} as const;

export interface Failure {
  status: number;
  message: string;
  /** Lines that follow the message (the fields of a refused input). */
  details: string[];
  /** A condition of the machine or of the input, not a fault of idflow: no stack trace is shown. */
  expected: boolean;
  /** Print the usage after the message. */
  usage?: boolean;
}

type SystemError = Error & { code?: string; syscall?: string; address?: string; port?: number; severity?: string };

/** Classes of PostgreSQL errors that describe the connection, not a statement: 08 connection, 28 authentication, 3D database. */
const POSTGRES_SETUP_ERRORS = /^(08|28|3D)/;
const NETWORK_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']);

/** What went wrong, in an operator's words, and the status to exit with. */
export function describeFailure(error: unknown): Failure {
  if (error instanceof ConfigError) return { status: EXIT.usage, message: `configuration error: ${error.message}`, details: [], expected: true };
  if (error instanceof DataFolderInUseError) return { status: EXIT.dataFolderInUse, message: error.message, details: [], expected: true };
  if (isAppError(error)) return { status: EXIT.failed, message: error.publicMessage, details: error.fields.map((f) => `${f.field}: ${f.message}`), expected: true };
  const e = error as SystemError;
  if (e instanceof TypeError && e.code?.startsWith('ERR_PARSE_ARGS')) return { status: EXIT.usage, message: e.message, details: [], expected: true, usage: true };
  if (e?.syscall === 'listen') {
    const where = `${e.address ?? ''}:${e.port ?? ''}`;
    const message =
      e.code === 'EADDRINUSE'
        ? `the address ${where} is already in use; stop what listens there or set PORT`
        : e.code === 'EACCES'
          ? `this user may not listen on ${where} (ports below 1024 need privileges); set PORT`
          : e.code === 'EADDRNOTAVAIL'
            ? `${e.address} is not an address of this machine; set HOST`
            : `cannot listen on ${where} (${e.code})`;
    return { status: EXIT.failed, message, details: [], expected: true };
  }
  // At start and in commands, only the database is connected to before this point.
  if (e?.code && NETWORK_ERRORS.has(e.code)) {
    return { status: EXIT.failed, message: `cannot reach the database (${e.code}${e.address ? ` ${e.address}${e.port ? `:${e.port}` : ''}` : ''}); check DATABASE_URL`, details: [], expected: true };
  }
  if (e?.severity && e.code && POSTGRES_SETUP_ERRORS.test(e.code)) {
    return { status: EXIT.failed, message: `the database refused the connection: ${e.message}; check DATABASE_URL`, details: [], expected: true };
  }
  return { status: EXIT.failed, message: e instanceof Error ? e.message : String(error), details: [], expected: false };
}
