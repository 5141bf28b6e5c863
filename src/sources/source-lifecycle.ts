import type { SourceState } from "./payment-source.js";

/**
 * What every source keeps of its own life: the run between start and stop
 * (its abort signal and main loop), and its state with what it says about it.
 * A change of state is announced once; a new detail alone is not.
 */
export class SourceLifecycle {
  #state: SourceState = "stopped";
  #abort: AbortController | undefined;
  /** Why the source is in its state (the last error while reconnecting), shown in the health report. */
  detail: string | undefined;
  /** The run's main loop, which stop waits for. */
  loop: Promise<void> | undefined;

  constructor(
    /** Names the source in errors, e.g. `Solana watcher "solana"`. */
    private readonly described: string,
    private readonly onChange: (state: SourceState) => void,
  ) {}

  get state(): SourceState {
    return this.#state;
  }

  /** The run's abort signal; undefined while stopped. */
  get signal(): AbortSignal | undefined {
    return this.#abort?.signal;
  }

  set(state: SourceState, detail?: string): void {
    this.detail = detail;
    if (state === this.#state) return;
    this.#state = state;
    this.onChange(state);
  }

  /** Begins a run, in state `starting`; a source started twice is a programming error. */
  begin(): AbortSignal {
    if (this.#abort) throw new Error(`${this.described} is already started`);
    this.#abort = new AbortController();
    this.set("starting");
    return this.#abort.signal;
  }

  /** A start that failed before its run began: no run, in state `failed`. */
  failed(detail: string): void {
    this.#abort = undefined;
    this.set("failed", detail);
  }

  /** Aborts the run; false when there is none, so stop has nothing to do. */
  abort(reason: Error): boolean {
    if (!this.#abort) return false;
    this.#abort.abort(reason);
    return true;
  }

  /** Once the run has wound down: no run, in state `stopped`. */
  ended(): void {
    this.#abort = undefined;
    this.loop = undefined;
    this.set("stopped");
  }
}
