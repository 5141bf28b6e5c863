import { pino, type Logger, type LevelWithSilent } from "pino";

export type { Logger } from "pino";

/** Structured JSON logs on stdout; scoped children name the component (`component=gateway`). */
export function createLogger(level: LevelWithSilent): Logger {
  return pino({ level, base: { service: "tributary-ws" } });
}
