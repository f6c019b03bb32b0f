import { hostname } from 'node:os';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { lock } from 'proper-lockfile';

/**
 * The embedded database is one process's: PGlite keeps its own copy of the data in memory,
 * so a second process opening the same folder (the CLI while the server runs, or a second
 * server) neither sees the other's writes nor keeps them safe. Every opener takes this lock
 * first, and the second one is refused with the first one's process id.
 *
 * The lock is a directory made atomically (proper-lockfile) whose mtime its holder refreshes;
 * a lock nobody refreshed for STALE_MS is stale and taken over. A separate file names the
 * holder, so a refusal can say who holds it, and a lock left by a process that is gone (killed,
 * on this host) is waited out instead of refused.
 */
const STALE_MS = 10_000;
const LOCK = 'idflow.lock';
const OWNER = 'idflow.lock.owner.json';

export interface LockOwner {
  pid: number;
  host: string;
  since: string;
}

/** Another live process holds the data folder. */
export class DataFolderInUseError extends Error {
  readonly code = 'data_folder_in_use';
  readonly folder: string;
  readonly owner: LockOwner | undefined;

  constructor(folder: string, owner: LockOwner | undefined) {
    const holder = owner ? `process ${owner.pid}${owner.host === hostname() ? '' : ` on ${owner.host}`} (since ${owner.since})` : 'another process';
    super(`the data folder ${folder} is in use by ${holder}; stop the server or use DATABASE_URL`);
    this.name = 'DataFolderInUseError';
    this.folder = folder;
    this.owner = owner;
  }
}

export interface DataFolderLockOptions {
  /** Told when the lock of a process that is gone is being waited out. */
  onStale?: (owner: LockOwner) => void;
  /** Another process took the folder over while this one held it (it stalled past STALE_MS). */
  onCompromised: (error: Error) => void;
}

/** Takes the data folder (which must exist) for this process; returns the release. */
export async function lockDataFolder(folder: string, options: DataFolderLockOptions): Promise<() => Promise<void>> {
  const lockOptions = { lockfilePath: join(folder, LOCK), stale: STALE_MS, realpath: false, onCompromised: options.onCompromised };
  let release: () => Promise<void>;
  try {
    release = await lock(folder, lockOptions);
  } catch (error) {
    if ((error as { code?: string }).code !== 'ELOCKED') throw error;
    const owner = await readOwner(folder);
    if (!owner || !isGone(owner)) throw new DataFolderInUseError(folder, owner);
    // Its holder is gone, so nobody refreshes it: it turns stale within STALE_MS.
    options.onStale?.(owner);
    const retries = { retries: Math.ceil(STALE_MS / 500) + 2, factor: 1, minTimeout: 500, maxTimeout: 500 };
    release = await lock(folder, { ...lockOptions, retries }).catch(async (again: unknown) => {
      if ((again as { code?: string }).code === 'ELOCKED') throw new DataFolderInUseError(folder, await readOwner(folder));
      throw again;
    });
  }
  const owner: LockOwner = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  await writeFile(join(folder, OWNER), JSON.stringify(owner), { mode: 0o600 });
  return async () => {
    await rm(join(folder, OWNER), { force: true });
    // ERELEASED: the lock was already lost (onCompromised); there is nothing left to give back.
    await release().catch((error: unknown) => {
      if ((error as { code?: string }).code !== 'ERELEASED') throw error;
    });
  };
}

async function readOwner(folder: string): Promise<LockOwner | undefined> {
  try {
    const owner = JSON.parse(await readFile(join(folder, OWNER), 'utf8')) as Partial<LockOwner>;
    return Number.isInteger(owner.pid) && typeof owner.host === 'string' && typeof owner.since === 'string' ? (owner as LockOwner) : undefined;
  } catch {
    // Not written yet (the holder is between taking the lock and naming itself), or damaged.
    return undefined;
  }
}

/** True when the holder is known to be dead: a process of this host that no longer runs (or whose id is now ours). */
function isGone(owner: LockOwner): boolean {
  if (owner.host !== hostname()) return false;
  if (owner.pid === process.pid) return true;
  try {
    process.kill(owner.pid, 0);
    return false;
  } catch (error) {
    return (error as { code?: string }).code === 'ESRCH';
  }
}
