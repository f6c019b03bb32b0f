import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { lstat, readdir, realpath } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { checkOutBaseline } from '../bench/lib/baseline-tree.ts';
import { createBenchDatabase } from '../bench/lib/database.ts';
import { PUBLIC_CLIENT, setUpIdflow, startIdflow } from '../bench/lib/idflow-server.ts';
import { knobs } from '../bench/lib/settings.ts';
import { Teardown } from '../bench/lib/teardown.ts';
import { backends } from './support/platform.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const quiet = () => {};
const git = (...args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
const inGit = (() => {
  try {
    git('rev-parse', 'HEAD');
    return true;
  } catch {
    return false;
  }
})();
const baselineFolders = async () => (await readdir(tmpdir())).filter((name) => name.startsWith('idflow-bench-baseline-'));

describe('bench: an older commit beside this tree (BENCH_BASELINE)', { skip: !inGit && 'not a git checkout' }, () => {
  it('is checked out in a temporary worktree on the same packages, and removed without touching them', async () => {
    const teardown = new Teardown(quiet);
    const tree = await checkOutBaseline(ROOT, 'HEAD', teardown, quiet);
    try {
      assert.equal(tree.commit, git('rev-parse', 'HEAD'));
      assert.match(git('worktree', 'list', '--porcelain'), new RegExp(`worktree ${tree.root}\n`));
      assert.ok(existsSync(join(tree.root, 'src', 'main.ts')), 'the tree has its own source');
      assert.ok(existsSync(join(tree.root, 'bench', 'lib', 'baseline-tree.ts')), "this tree's bench is laid over it");
      assert.ok((await lstat(join(tree.root, 'node_modules'))).isSymbolicLink(), 'the same lock file: the packages are linked, not installed again');
      assert.equal(await realpath(join(tree.root, 'node_modules')), await realpath(join(ROOT, 'node_modules')));
      assert.match(tree.dependencies, /identical/);
    } finally {
      await teardown.run();
    }
    assert.ok(!existsSync(dirname(tree.root)), 'the temporary folder is gone');
    assert.doesNotMatch(git('worktree', 'list', '--porcelain'), new RegExp(tree.root));
    assert.ok(existsSync(join(ROOT, 'node_modules', 'fastify', 'package.json')), "this tree's packages are untouched");
  });

  it('refuses a revision that names no commit, and leaves nothing behind', async () => {
    const before = await baselineFolders();
    const teardown = new Teardown(quiet);
    await assert.rejects(checkOutBaseline(ROOT, 'no-such-revision-anywhere', teardown, quiet), /BENCH_BASELINE=no-such-revision-anywhere names no commit/);
    await teardown.run();
    assert.deepEqual(await baselineFolders(), before);
  });

  it("sets its own database up through its own import file, and its server signs the bench's users in", async (t) => {
    if (!(await backends()).includes('postgres')) return t.skip('needs PostgreSQL');
    const teardown = new Teardown(quiet);
    try {
      const tree = await checkOutBaseline(ROOT, 'HEAD', teardown, quiet);
      const database = await createBenchDatabase();
      teardown.add('database', () => database.drop());
      const setup = await setUpIdflow(tree.root, database, { ...knobs(), users: 2 }, quiet);
      await teardown.serve(startIdflow(setup), async (server) => {
        for (const user of setup.users) {
          const res = await fetch(`${server.url}/reg/auth/token`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ grant_type: 'password', username: user.username, password: user.password, client_id: PUBLIC_CLIENT }),
          });
          assert.equal(res.status, 200);
          const body = (await res.json()) as Record<string, unknown>;
          assert.equal(typeof body.access_token, 'string');
          assert.equal(typeof body.refresh_token, 'string');
        }
        const basic = Buffer.from(`bench-service:${setup.serviceSecret}`).toString('base64');
        const cc = await fetch(`${server.url}/oauth/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${basic}` },
          body: 'grant_type=client_credentials&scope=api%3Aread',
        });
        assert.equal(cc.status, 200);
      });
    } finally {
      await teardown.run();
    }
  });
});
