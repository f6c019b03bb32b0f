// Figure (a): raw argon2id throughput with idflow's PasswordHasher at the configured
// parameters. A process of its own, like the server, so it gets the same libuv thread pool
// size (UV_THREADPOOL_SIZE is read once, at the pool's first use) and a quiet event loop.
// Prints one JSON line: the measurement and the CPU it used.
import { loadConfig } from '../src/config/index.ts';
import { PasswordHasher } from '../src/identity/passwords.ts';
import { CpuProbe } from './lib/cpu.ts';
import { measure } from './lib/load.ts';

const inFlight = Number(process.env.BENCH_ARGON2_IN_FLIGHT);
const config = loadConfig();
const hasher = new PasswordHasher(config.password);
// This process is both the load and the work: its CPU is reported as the server's.
const probe = new CpuProbe(() => []);
const result = await measure({
  warmupMs: Number(process.env.BENCH_WARMUP_SECONDS) * 1000,
  durationMs: Number(process.env.BENCH_SECONDS) * 1000,
  maxRequests: Number(process.env.BENCH_MAX_REQUESTS),
  workers: Array.from({ length: inFlight }, () => ({
    request: async () => {
      await hasher.hash('correct horse battery staple');
      return undefined;
    },
  })),
  onWindowStart: () => probe.start(),
  onWindowEnd: () => probe.stop(),
});
const cpu = probe.result!;
process.stdout.write(`${JSON.stringify({ ...result, cpu: { ...cpu, server: cpu.loadGenerator, loadGenerator: 0 }, params: config.password })}\n`);
