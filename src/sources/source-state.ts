import type { SourceState } from "./payment-source.js";

/** A source's state and what it says about it; a change of state is announced once, a new detail alone is not. */
export class SourceStateHolder {
  #state: SourceState = "stopped";
  /** Why the source is in its state (the last error while reconnecting), shown in the health report. */
  detail: string | undefined;

  constructor(private readonly onChange: (state: SourceState) => void) {}

  get state(): SourceState {
    return this.#state;
  }

  set(state: SourceState, detail?: string): void {
    this.detail = detail;
    if (state === this.#state) return;
    this.#state = state;
    this.onChange(state);
  }
}
