import type { Logger } from "../logger.js";

/**
 * A `warn` line for refused credentials (API keys, subscription tokens), at
 * most one per kind per interval: an operator sees that someone is trying,
 * and a stranger cannot fill the log. The line says how many were not logged.
 */
export class RefusalLog {
  private readonly kinds = new Map<string, { loggedAt: number; unlogged: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  refused(kind: string, details: Record<string, unknown>, message: string): void {
    const now = this.now();
    const seen = this.kinds.get(kind);
    if (seen !== undefined && now - seen.loggedAt < this.intervalMs) {
      seen.unlogged++;
      return;
    }
    this.logger.warn({ refusal: kind, ...details, unloggedSinceLast: seen?.unlogged ?? 0 }, message);
    this.kinds.set(kind, { loggedAt: now, unlogged: 0 });
  }
}
