// Runs idflow as a small cluster: N worker processes, each the real `src/main.ts`, sharing
// one listening port through node:cluster (the primary hands out connections round-robin).
// idflow nodes are stateless, so this is one way to use several cores on one machine; the
// failure throttle then counts per worker (see src/identity/throttle.ts).
import cluster from 'node:cluster';
import { fileURLToPath } from 'node:url';

const workers = Number(process.env.BENCH_CLUSTER_WORKERS);
if (!Number.isInteger(workers) || workers < 1) throw new Error('BENCH_CLUSTER_WORKERS must be a whole number >= 1');

cluster.setupPrimary({ exec: fileURLToPath(new URL('../src/main.ts', import.meta.url)) });
let listening = 0;
let stopping = false;
cluster.on('listening', () => {
  listening += 1;
  // The bench waits for this before it sends load, so every worker takes its share from the start.
  if (listening === workers) process.send?.('ready');
});
cluster.on('exit', (worker, code, signal) => {
  if (stopping) return;
  process.stderr.write(`cluster: worker ${worker.process.pid} exited (${signal ?? code}); stopping\n`);
  process.exit(1);
});
for (let i = 0; i < workers; i++) cluster.fork();

const stop = () => {
  stopping = true;
  const alive = Object.values(cluster.workers ?? {}).filter((w) => w !== undefined);
  let left = alive.length;
  if (left === 0) process.exit(0);
  for (const w of alive) {
    w.once('exit', () => {
      left -= 1;
      if (left === 0) process.exit(0);
    });
    w.process.kill('SIGTERM');
  }
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
