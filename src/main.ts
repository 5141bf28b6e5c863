import { ConfigError, loadConfig } from "./config.js";
import { runService } from "./run-service.js";

/** Entry point of `npm start`: config from the environment → the service (see run-service.ts). */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(2);
    }
    throw error;
  }
  await runService(config);
}

main().catch((error: unknown) => {
  console.error("tributary-ws failed to start:", error instanceof Error ? error.message : error);
  process.exit(1);
});
