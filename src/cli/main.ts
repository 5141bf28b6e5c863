#!/usr/bin/env node
import { Command } from "commander";
import { packageVersion } from "../package-root.js";
import { benchCommand } from "./bench-command.js";
import { decodeCommand } from "./decode-command.js";
import { publishCommand } from "./publish-command.js";
import { serveCommand } from "./serve-command.js";
import { watchCommand } from "./watch-command.js";
import { webhooksCommand } from "./webhooks-command.js";

/** `tributary-ws`: run the service, watch and publish payments, decode chain events, benchmark. */
export function buildProgram(): Command {
  const program = new Command("tributary-ws")
    .description("Real-time Tributary payment notifications over Socket.IO")
    .version(packageVersion())
    .showHelpAfterError("(add --help for usage)")
    .configureHelp({ showGlobalOptions: true });
  for (const command of [serveCommand(), watchCommand(), publishCommand(), decodeCommand(), benchCommand(), webhooksCommand()]) {
    program.addCommand(command.showHelpAfterError("(add --help for usage)"));
  }
  return program;
}

buildProgram()
  .parseAsync(process.argv)
  .catch((error: unknown) => {
    console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
