// An older commit of this repository, checked out beside it for a comparison run: a detached
// git worktree in a temporary folder, with its dependencies installed. The current bench's
// measuring scripts are laid over the older tree's own, so the processes started there
// (argon2.ts, oidc-provider-alone.ts) measure the same way while they import that tree's source
// and libraries. The folder and the worktree are removed at the end, also on failure or Ctrl-C.
import { execFile, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { cp, lstat, mkdtemp, readFile, realpath, rm, symlink, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { promisify } from 'node:util';
import type { Teardown } from './teardown.ts';

export interface BaselineTree {
  root: string;
  /** The revision as given, and the commit it names. */
  revision: string;
  commit: string;
  /** How its node_modules came to be, and why. */
  dependencies: string;
  /**
   * The older tree's own bench scripts, kept beside the ones laid over them: the flow benches
   * (one-click.ts, web-kyc.ts) prepare their data through the core's own modules, so each tree
   * runs its own, and only what they measure (the same HTTP requests) is compared.
   */
  ownBench: string;
}

const run = promisify(execFile);

export async function checkOutBaseline(repo: string, revision: string, teardown: Teardown, log: (line: string) => void): Promise<BaselineTree> {
  const git = async (...args: string[]) => (await run('git', args, { cwd: repo })).stdout.trim();
  const commit = await git('rev-parse', '--verify', '--quiet', '--end-of-options', `${revision}^{commit}`).catch(() => {
    throw new Error(`BENCH_BASELINE=${revision} names no commit of this repository`);
  });
  const folder = await mkdtemp(join(tmpdir(), 'idflow-bench-baseline-'));
  const root = join(folder, 'tree');
  teardown.add(`the baseline worktree ${root}`, async () => {
    // node_modules may be a link to this tree's install: it goes first, so that nothing
    // below can ever reach through it.
    await unlinkIfLink(join(root, 'node_modules'));
    await git('worktree', 'remove', '--force', root).catch(() => {});
    await rm(folder, { recursive: true, force: true });
    await git('worktree', 'prune').catch(() => {});
    log(`removed the baseline worktree ${root}`);
  });
  await git('worktree', 'add', '--detach', root, commit);
  log(`baseline ${revision} = ${commit}, checked out in ${root}`);

  // The same lock file means the same packages: this tree's install serves both, which saves
  // a full install (minutes, and a native build or download for some packages).
  const [ours, theirs] = await Promise.all([readFile(join(repo, 'package-lock.json')), readFile(join(root, 'package-lock.json')).catch(() => undefined)]);
  let dependencies: string;
  if (theirs && ours.equals(theirs)) {
    await symlink(await realpath(join(repo, 'node_modules')), join(root, 'node_modules'), 'dir');
    dependencies = "this tree's node_modules, linked (package-lock.json is identical)";
  } else {
    const logFile = join(folder, 'npm-ci.log');
    log(`package-lock.json differs: npm ci in the baseline tree (output in ${logFile})`);
    const started = Date.now();
    await npmCi(root, logFile);
    dependencies = `npm ci in the baseline tree (package-lock.json differs), ${Math.round((Date.now() - started) / 1000)} s`;
  }
  log(`baseline dependencies: ${dependencies}`);

  const ownBench = join(root, 'bench-own');
  await cp(join(root, 'bench'), ownBench, { recursive: true });
  await cp(join(repo, 'bench'), join(root, 'bench'), {
    recursive: true,
    filter: (path) => !['results', 'profiles'].includes(relative(join(repo, 'bench'), path).split(sep)[0]!),
  });
  return { root, revision, commit, dependencies, ownBench };
}

function npmCi(cwd: string, logFile: string): Promise<void> {
  const out = openSync(logFile, 'a');
  const child = spawn('npm', ['ci', '--no-audit', '--no-fund'], { cwd, stdio: ['ignore', out, out] });
  closeSync(out);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => (code === 0 ? resolve() : reject(new Error(`npm ci in the baseline tree failed (${signal ?? `exit ${code}`}); see ${logFile}`))));
  });
}

async function unlinkIfLink(path: string): Promise<void> {
  try {
    if ((await lstat(path)).isSymbolicLink()) await unlink(path);
  } catch {
    // not there
  }
}
