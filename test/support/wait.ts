/**
 * Waiting for things to happen, never for time to pass. The timeouts below
 * are failure bounds only: a passing test never waits for them.
 */

// Loose on purpose: typed emitters (socket.io, engine.io) narrow their event names.
interface EventSource {
  once(event: any, listener: any): unknown;
  off(event: any, listener: any): unknown;
}

/** Resolves with the first argument of the next `event`, or rejects after `timeoutMs`. */
export function nextEvent<T = unknown>(source: EventSource, event: string, timeoutMs = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const listener = (value: T) => {
      clearTimeout(timer);
      resolve(value);
    };
    const timer = setTimeout(() => {
      source.off(event, listener as (...args: any[]) => void);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for "${event}"`));
    }, timeoutMs);
    source.once(event, listener as (...args: any[]) => void);
  });
}

/** Resolves with the first argument of the next `event` that `matching` accepts. */
export function nextMatchingEvent<T = unknown>(
  source: EventSource & { on(event: any, listener: any): unknown },
  event: string,
  matching: (value: T) => boolean,
  timeoutMs = 10_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const listener = (value: T) => {
      if (!matching(value)) return;
      clearTimeout(timer);
      source.off(event, listener);
      resolve(value);
    };
    const timer = setTimeout(() => {
      source.off(event, listener);
      reject(new Error(`no matching "${event}" event within ${timeoutMs} ms`));
    }, timeoutMs);
    source.on(event, listener);
  });
}

/** Collects every `event` payload into an array and resolves when `count` have arrived. */
export function collect<T = unknown>(
  source: { on(event: string, listener: (value: T) => void): unknown },
  event: string,
): { items: T[]; until(count: number, timeoutMs?: number): Promise<T[]> } {
  const items: T[] = [];
  const waiters: Array<{ count: number; resolve: (items: T[]) => void }> = [];
  source.on(event, (value: T) => {
    items.push(value);
    for (const waiter of waiters.filter((w) => items.length >= w.count)) waiter.resolve(items);
  });
  return {
    items,
    until(count, timeoutMs = 5000) {
      if (items.length >= count) return Promise.resolve(items);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`timed out after ${timeoutMs} ms with ${items.length} of ${count} "${event}" events`)),
          timeoutMs,
        );
        waiters.push({
          count,
          resolve: (all) => {
            clearTimeout(timer);
            resolve(all);
          },
        });
      });
    },
  };
}

/** Polls a condition that has no event of its own (for example a process's exit status). */
export async function waitUntil(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}
