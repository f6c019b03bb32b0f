import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Initialising an empty embedded database (PGlite's initdb) takes several seconds; loading
 * a snapshot of one takes a fraction of that. `npm install` makes the snapshot once
 * (scripts/prepare-embedded.ts), so the first start of a new data folder is quick too.
 */
export const EMBEDDED_TEMPLATE = fileURLToPath(new URL('../../node_modules/.cache/idflow/pglite-empty.tar.gz', import.meta.url));

/** The snapshot to start a brand-new data folder from, when there is one. */
export async function templateFor(dataDir: string): Promise<Blob | undefined> {
  if (existsSync(join(dataDir, 'PG_VERSION')) || !existsSync(EMBEDDED_TEMPLATE)) return undefined;
  return new Blob([await readFile(EMBEDDED_TEMPLATE)]);
}

export async function buildEmbeddedTemplate(): Promise<void> {
  const { PGlite } = await import('@electric-sql/pglite');
  const db = await PGlite.create();
  const dump = await db.dumpDataDir('gzip');
  await db.close();
  await mkdir(dirname(EMBEDDED_TEMPLATE), { recursive: true });
  const partial = `${EMBEDDED_TEMPLATE}.${process.pid}`;
  await writeFile(partial, Buffer.from(await dump.arrayBuffer()));
  await rename(partial, EMBEDDED_TEMPLATE);
}
