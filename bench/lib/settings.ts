import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

/** Every knob the bench reads from the environment; bench/README.md lists them. */
export interface Knobs {
  seconds: number;
  warmupSeconds: number;
  maxRequests: number;
  connections: number;
  signInConnections: number;
  argon2InFlight: number;
  /** libuv thread pool size given to the server and the argon2 process (libuv's default is 4). */
  threadpool: number;
  serverLogLevel: string;
  users: number;
  keepDatabase: boolean;
  /** Also measure (c) and (d) with idflow as a cluster of this many processes; 0 = not. */
  cluster: number;
  /** Only these figures (argon2, signIn, refresh, clientCredentials, ping); undefined = all. */
  only: string[] | undefined;
  /** Run each idflow server under --cpu-prof and summarise where its time went. */
  profile: boolean;
  /** BENCH_BASELINE: a commit (or any git revision) to compare this tree with, in the same run. */
  baseline: string | undefined;
  /** Measured windows per figure and tree in a comparison, taken in turns with the other tree. */
  rounds: number;
  /** How this run was started, with the knobs that were set, to repeat it. */
  command: string;
}

const KNOB = /^(BENCH_\w+|UV_THREADPOOL_SIZE|IDFLOW_ARGON2_\w+)$/;

function positive(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got "${raw}"`);
  return value;
}

const FIGURES = ['argon2', 'signIn', 'refresh', 'clientCredentials', 'ping', 'refreshAlone', 'clientCredentialsAlone'];

function onlyFigures(raw: string): string[] {
  const names = raw.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = names.filter((n) => !FIGURES.includes(n));
  if (unknown.length) throw new Error(`BENCH_ONLY: unknown figure ${unknown.join(', ')}; use ${FIGURES.join(', ')}`);
  return names;
}

export function knobs(): Knobs {
  const threadpool = Math.round(positive('UV_THREADPOOL_SIZE', 4));
  const set = Object.entries(process.env)
    .filter(([name]) => KNOB.test(name))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, value]) => `${name}=${value}`);
  const base = process.env.npm_lifecycle_event === 'bench' ? 'npm run bench' : `npx node ${process.argv.slice(1).map((a) => a.replace(`${process.cwd()}/`, '')).join(' ')}`;
  return {
    seconds: positive('BENCH_SECONDS', 10),
    warmupSeconds: positive('BENCH_WARMUP_SECONDS', 2),
    maxRequests: Math.round(positive('BENCH_MAX_REQUESTS', 1_000_000)),
    connections: Math.round(positive('BENCH_CONNECTIONS', 32)),
    signInConnections: Math.round(positive('BENCH_SIGNIN_CONNECTIONS', 32)),
    argon2InFlight: Math.round(positive('BENCH_ARGON2_IN_FLIGHT', threadpool * 2)),
    threadpool,
    serverLogLevel: process.env.BENCH_LOG_LEVEL || 'info',
    users: Math.round(positive('BENCH_USERS', 32)),
    keepDatabase: process.env.BENCH_KEEP_DATABASE === '1',
    profile: process.env.BENCH_PROFILE === '1',
    only: process.env.BENCH_ONLY ? onlyFigures(process.env.BENCH_ONLY) : undefined,
    cluster: process.env.BENCH_CLUSTER ? Math.round(positive('BENCH_CLUSTER', 2)) : 0,
    baseline: process.env.BENCH_BASELINE || undefined,
    rounds: Math.round(positive('BENCH_ROUNDS', 2)),
    command: [...set, base].join(' '),
  };
}

export interface GitState {
  commit: string;
  /** Files under src/, bench/ or package*.json that differ from the commit: the figures are for those. */
  uncommitted: string[];
}

export async function gitState(root: string): Promise<GitState> {
  // A tree exported with `git archive` has no repository: its commit is given instead.
  if (process.env.BENCH_COMMIT) return { commit: `${process.env.BENCH_COMMIT} (exported tree)`, uncommitted: [] };
  const run = promisify(execFile);
  try {
    const { stdout: commit } = await run('git', ['rev-parse', 'HEAD'], { cwd: root });
    const { stdout: status } = await run('git', ['status', '--porcelain', '--', 'src', 'bench', 'package.json', 'package-lock.json'], { cwd: root });
    return {
      commit: commit.trim(),
      uncommitted: status
        .split('\n')
        .filter(Boolean)
        .map((line) => line.slice(3))
        .filter((path) => !path.startsWith('bench/results/')),
    };
  } catch {
    return { commit: 'unknown', uncommitted: [] };
  }
}
