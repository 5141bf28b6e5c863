/**
 * At most `limit` handshakes in flight at once per load worker. Thousands of
 * clients reconnecting in the same instant would otherwise overflow the
 * server's listen backlog, and the storm would measure the kernel's SYN
 * retransmit timer (1 s, then 3 s) instead of the server.
 */
export class HandshakeGate {
  private inFlight = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async acquire(): Promise<void> {
    if (this.inFlight < this.limit) {
      this.inFlight++;
      return;
    }
    // The slot is handed over by release(), so inFlight stays counted.
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next !== undefined) next();
    else this.inFlight--;
  }
}
