import { stopEveryProcess, type ServerProcess } from './processes.ts';

/**
 * What a run must undo (servers, databases, a checked-out tree), undone once, newest first:
 * at the end, on failure, and on Ctrl-C or SIGTERM, after which the process exits with 130.
 */
export class Teardown {
  readonly #steps = new Set<{ what: string; undo: () => Promise<void> }>();
  readonly #log: (line: string) => void;
  #running: Promise<void> | undefined;

  constructor(log: (line: string) => void) {
    this.#log = log;
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        log(`${signal}: cleaning up`);
        void this.run().finally(() => process.exit(130));
      });
    }
  }

  /**
   * Registers an undo step; the returned function runs it now and forgets it. Once the
   * teardown has begun, whatever is added is undone at once and the run goes no further.
   */
  add(what: string, undo: () => Promise<void>): () => Promise<void> {
    if (this.#running) {
      void undo().catch(() => {});
      throw new Error(`the run was cut short (${what} undone)`);
    }
    const step = { what, undo };
    this.#steps.add(step);
    return async () => {
      if (!this.#steps.delete(step)) return;
      await undo();
    };
  }

  /** Runs `fn` with a server once it is up, and stops the server afterwards (or at teardown, if cut short). */
  async serve<S extends ServerProcess, T>(start: Promise<S>, fn: (server: S) => Promise<T>): Promise<T> {
    const server = await start;
    const stop = this.add('a server', () => server.stop());
    try {
      return await fn(server);
    } finally {
      await stop();
    }
  }

  run(): Promise<void> {
    this.#running ??= (async () => {
      // Servers first, also one still starting (it has no undo step yet): then nothing uses
      // the databases or the trees below.
      await stopEveryProcess();
      for (const step of [...this.#steps].reverse()) {
        this.#steps.delete(step);
        await step.undo().catch((error) => this.#log(`could not undo ${step.what}: ${(error as Error).message}`));
      }
    })();
    return this.#running;
  }
}
