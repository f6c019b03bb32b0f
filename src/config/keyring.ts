import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Keyring } from '../kernel/sealing.ts';
import type { Config } from './index.ts';

/**
 * The sealing keyring comes from IDFLOW_SEALING_KEYS. In development, when it is not set,
 * a key is made once and kept in the data folder (readable by this user only), so the
 * embedded default needs no setup; production refuses to start without the variable.
 */
export async function loadKeyring(config: Config): Promise<{ keyring: Keyring; generatedAt?: string }> {
  if (config.sealingKeys) return { keyring: Keyring.parse(config.sealingKeys) };
  const file = join(config.dataDir, 'sealing-keys');
  try {
    return { keyring: Keyring.parse((await readFile(file, 'utf8')).trim()) };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(config.dataDir, { recursive: true });
  const text = Keyring.generateText('dev1');
  await writeFile(file, `${text}\n`, { mode: 0o600, flag: 'wx' });
  await chmod(file, 0o600);
  return { keyring: Keyring.parse(text), generatedAt: file };
}
