import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { JWK } from 'jose';
import { parseCheckpoint, type Checkpoint } from '../audit/checkpoint.ts';
import { AppError } from '../kernel/errors.ts';
import { EXIT } from './failure.ts';
import type { WithPlatform } from './platform.ts';

const USAGE =
  'idflow: usage: idflow audit verify [--checkpoint FILE] [--key FILE] [--json] | idflow audit checkpoint | idflow audit key\n' +
  '       | idflow audit list [--stream S] [--client ID] [--user ID] [--action A] [--since T] [--until T] [--limit N] [--cursor C]\n';

/** `idflow audit …`: verify the log, sign a checkpoint now, print the checkpoint key, list entries. */
export async function auditCommand(args: string[], withPlatform: WithPlatform): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'verify':
      return verify(rest, withPlatform);
    case 'checkpoint':
      parseArgs({ args: rest, options: {} });
      return withPlatform(async (s) => void process.stdout.write(`${JSON.stringify(await s.audit.checkpoint())}\n`));
    case 'key':
      parseArgs({ args: rest, options: {} });
      return withPlatform(async (s) => void process.stdout.write(`${JSON.stringify(s.audit.publicKey)}\n`));
    case 'list':
      return list(rest, withPlatform);
    default:
      process.stderr.write(USAGE);
      return EXIT.usage;
  }
}

/** A JSON file an operator gives; its problems are told as an input refused. */
async function readJson(path: string, flag: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new AppError('validation_failed', `${flag} ${path} cannot be read as JSON: ${(error as Error).message}`);
  }
}

function refused(flag: string, error: unknown): never {
  throw new AppError('validation_failed', `${flag}: ${(error as Error).message}`);
}

/**
 * Exits 0 when every chain holds (and the checkpoint, when given, is genuine and still held),
 * `EXIT.tampered` otherwise, after naming each entry found wrong.
 */
async function verify(args: string[], withPlatform: WithPlatform): Promise<number> {
  const { values } = parseArgs({ args, options: { checkpoint: { type: 'string' }, key: { type: 'string' }, json: { type: 'boolean' } } });
  let checkpoint: Checkpoint | undefined;
  if (values.checkpoint !== undefined) {
    const input = await readJson(values.checkpoint, '--checkpoint');
    try {
      checkpoint = parseCheckpoint(input);
    } catch (error) {
      refused('--checkpoint', error);
    }
  }
  let key: JWK | undefined;
  if (values.key !== undefined) {
    const jwk = (await readJson(values.key, '--key')) as JWK;
    if (typeof jwk !== 'object' || jwk === null || jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') {
      refused('--key', new Error('must hold the Ed25519 public JWK printed by `idflow audit key`'));
    }
    key = jwk;
  }
  let status: number = EXIT.ok;
  const done = await withPlatform(async (s) => {
    const result = await s.audit.verify(checkpoint, key);
    const broken = result.findings.length > 0 || result.checkpointProblems.length > 0;
    if (broken) status = EXIT.tampered;
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ ok: !broken, ...result })}\n`);
      return;
    }
    for (const problem of result.checkpointProblems) process.stdout.write(`checkpoint of ${checkpoint!.at}: ${problem}\n`);
    for (const f of result.findings) {
      const where = f.seq !== undefined ? `${f.stream} position ${f.seq}` : `${f.stream}`;
      process.stdout.write(`${where}: ${f.problem}: ${f.message}\n`);
    }
    const against = checkpoint ? `, against the checkpoint of ${checkpoint.at}` : '';
    process.stdout.write(
      broken
        ? `the audit log was tampered with: ${result.findings.length + result.checkpointProblems.length} finding(s) in ${result.entries} entries of ${result.streams} streams${against}\n`
        : `the audit log is intact: ${result.entries} entries in ${result.streams} streams${against}\n`,
    );
  });
  return done === EXIT.ok ? status : done;
}

async function list(args: string[], withPlatform: WithPlatform): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      stream: { type: 'string' },
      client: { type: 'string' },
      user: { type: 'string' },
      action: { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      limit: { type: 'string' },
      cursor: { type: 'string' },
    },
  });
  const date = (flag: string, value: string | undefined) => {
    if (value === undefined) return undefined;
    const at = new Date(value);
    if (Number.isNaN(at.getTime())) refused(flag, new Error('must be a date-time (ISO 8601)'));
    return at;
  };
  const filter = { stream: values.stream, clientId: values.client, userId: values.user, action: values.action, since: date('--since', values.since), until: date('--until', values.until) };
  const limit = values.limit === undefined ? undefined : Number(values.limit);
  return withPlatform(async (s) => void process.stdout.write(`${JSON.stringify(await s.audit.list(filter, { limit, cursor: values.cursor }))}\n`));
}
