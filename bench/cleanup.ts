/**
 * Kills whatever the bench started when it ends, however it ends. Handlers
 * must be synchronous-safe: on 'exit' only signals can still be sent.
 */
export class Cleanup {
  private readonly killers = new Set<() => void>();

  add(kill: () => void): () => void {
    this.killers.add(kill);
    return () => this.killers.delete(kill);
  }

  runAll(): void {
    for (const kill of this.killers) {
      try {
        kill();
      } catch {
        // Already gone; nothing left to clean.
      }
    }
    this.killers.clear();
  }

  installProcessHandlers(): void {
    process.once("exit", () => this.runAll());
    for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
      process.once(signal, () => {
        console.error(`\nbench: ${signal}, stopping child processes`);
        this.runAll();
        process.exit(130);
      });
    }
  }
}
