import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';

export interface ServerProcess {
  url: string;
  /** The process and all its descendants (cluster workers), for CPU accounting. */
  pids(): number[];
  /** Set once the process has exited on its own (a crash, or a signal from elsewhere). */
  exited(): string | undefined;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Arguments after the Node binary, e.g. ['src/main.ts']. */
  args: string[];
  env: Record<string, string>;
  cwd: string;
  port: number;
  /** GET path that answers 200 once the process serves requests. */
  readyPath: string;
  /** Also wait for the process to send 'ready' over IPC (a cluster primary, once every worker listens). */
  readyMessage?: boolean;
  /** Where the process's stdout and stderr go. */
  logFile: string;
  startTimeoutMs?: number;
}

/** Every server process started and not yet gone, so that an interrupted run leaves none behind. */
const running = new Set<ChildProcess>();

/** Stops every server process still running (the end of an interrupted run). */
export async function stopEveryProcess(): Promise<void> {
  await Promise.all([...running].map((child) => stop(child, new Promise((resolve) => child.once('exit', resolve)))));
}

/**
 * Starts a server in its own process (the same Node binary as this one) so it has an
 * event loop to itself, and waits until it answers on loopback.
 */
export async function startProcess(options: StartOptions): Promise<ServerProcess> {
  const log = openSync(options.logFile, 'a');
  const child = spawn(process.execPath, options.args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', log, log, ...(options.readyMessage ? (['ipc'] as const) : [])],
  });
  closeSync(log);
  running.add(child);
  child.once('exit', () => running.delete(child));
  let announced = !options.readyMessage;
  child.on('message', (message) => {
    if (message === 'ready') announced = true;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let gone = false;
  let stopping = false;
  let how: string | undefined;
  child.once('exit', (code, signal) => {
    gone = true;
    if (!stopping) how = `${options.args.join(' ')} exited during the run (${signal ? `signal ${signal}` : `code ${code}`}); see ${options.logFile}`;
  });

  const url = `http://127.0.0.1:${options.port}`;
  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
  for (;;) {
    if (gone) throw new Error(`${options.args.join(' ')} exited before it was ready; see ${options.logFile}`);
    if (Date.now() > deadline) {
      await stop(child, exited);
      throw new Error(`${options.args.join(' ')} was not ready within ${options.startTimeoutMs ?? 60_000} ms; see ${options.logFile}`);
    }
    try {
      const res = await request(`${url}${options.readyPath}`, { headersTimeout: 2000, bodyTimeout: 2000 });
      await res.body.dump();
      if (res.statusCode === 200 && announced) break;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  return {
    url,
    pids: () => (gone ? [] : [child.pid!, ...descendants(child.pid!)]),
    exited: () => how,
    stop: () => {
      stopping = true;
      return stop(child, exited);
    },
  };
}

async function stop(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

function descendants(root: number): number[] {
  const parentOf = new Map<number, number>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  const found: number[] = [];
  const queue = [root];
  while (queue.length) {
    const pid = queue.shift()!;
    for (const [child, parent] of parentOf) if (parent === pid) (found.push(child), queue.push(child));
  }
  return found;
}

/** A loopback port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
