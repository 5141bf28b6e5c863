/**
 * A long-running part of the service as the wiring starts and stops it. A part
 * whose stop has two phases (stop taking work, later close) appears as two
 * entries, so the whole shutdown order reads as one list.
 */
export interface Service {
  readonly name: string;
  start?(): Promise<void>;
  /** `reason` is what the node tells those it drops, e.g. "is shutting down". */
  stop?(reason: string): Promise<void>;
}

/** Starts each part in turn; a later part may rely on the earlier ones running. */
export async function startInOrder(services: readonly Service[]): Promise<void> {
  for (const service of services) await service.start?.();
}

/** Stops each part in turn; a failure ends the sequence there, as a written-out sequence of awaits would. */
export async function stopInOrder(services: readonly Service[], reason: string): Promise<void> {
  for (const service of services) await service.stop?.(reason);
}
