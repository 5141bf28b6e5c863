import { Command, Option } from "commander";
import { ConfigError, loadConfig } from "../config.js";
import { runService } from "../run-service.js";

/** Each flag sets the environment variable of the same meaning; a flag wins over the variable. */
const FLAGS: Array<{ flag: string; variable: string; description: string }> = [
  { flag: "port", variable: "PORT", description: "HTTP and WebSocket port (0 picks a free one)" },
  { flag: "host", variable: "HOST", description: "address to listen on" },
  { flag: "workers", variable: "WORKERS", description: "worker processes, one per core; 1 runs in this process" },
  { flag: "database-url", variable: "DATABASE_URL", description: "payment store, sqlite:<path> or sqlite::memory:" },
  { flag: "api-keys", variable: "TRIBUTARY_API_KEYS", description: "comma-separated keys allowed to publish" },
  { flag: "log-level", variable: "LOG_LEVEL", description: "fatal, error, warn, info, debug, trace or silent" },
  { flag: "cors-origins", variable: "CORS_ORIGINS", description: "comma-separated browser origins, * for all" },
  { flag: "max-subscriptions-per-socket", variable: "MAX_SUBSCRIPTIONS_PER_SOCKET", description: "tracking IDs per connection" },
  { flag: "max-http-buffer-size", variable: "MAX_HTTP_BUFFER_SIZE", description: "largest client message, bytes" },
  { flag: "recovery-window-ms", variable: "RECOVERY_WINDOW_MS", description: "connection-state recovery window; 0 turns it off" },
  { flag: "replay-page-size", variable: "REPLAY_PAGE_SIZE", description: "payments read per step of a replay" },
  { flag: "retention-max-age-seconds", variable: "RETENTION_MAX_AGE_SECONDS", description: "delete payments older than this; 0 keeps all" },
  { flag: "retention-max-per-tracking-id", variable: "RETENTION_MAX_PER_TRACKING_ID", description: "newest payments kept per tracking ID; 0 keeps all" },
  { flag: "retention-interval-ms", variable: "RETENTION_INTERVAL_MS", description: "how often retention runs" },
  { flag: "max-body-bytes", variable: "MAX_BODY_BYTES", description: "largest POST /v1/payments body" },
  { flag: "shutdown-timeout-ms", variable: "SHUTDOWN_TIMEOUT_MS", description: "upper bound for a graceful drain" },
];

const camel = (flag: string) => flag.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());

export function serveCommand(): Command {
  const command = new Command("serve").description(
    "run the service in the foreground, as `npm start` does; flags override the environment variables named in brackets",
  );
  for (const { flag, variable, description } of FLAGS) {
    command.addOption(new Option(`--${flag} <value>`, `${description} [${variable}]`));
  }
  command.action(async (options: Record<string, string | undefined>) => {
    const fromFlags = Object.fromEntries(
      FLAGS.filter(({ flag }) => options[camel(flag)] !== undefined).map(({ flag, variable }) => [variable, options[camel(flag)]]),
    );
    let config;
    try {
      config = loadConfig({ ...process.env, ...fromFlags });
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      // Name the flag the user typed, not only the variable behind it.
      const issues = error.issues.map((issue) => {
        const variable = issue.split(":")[0] ?? "";
        const entry = FLAGS.find((candidate) => candidate.variable === variable);
        return entry !== undefined && variable in fromFlags ? `--${entry.flag} (${issue})` : issue;
      });
      return command.error(`error: invalid configuration:\n  ${issues.join("\n  ")}`, { exitCode: 2 });
    }
    await runService(config);
  });
  return command;
}
