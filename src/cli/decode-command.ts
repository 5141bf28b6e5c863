import { Command } from "commander";
import { decodeProgramData } from "../tributary/decode-program-data.js";

export function decodeCommand(): Command {
  return new Command("decode")
    .description("decode one PaymentRecord `Program data:` payload (base64, as an explorer shows it) to JSON")
    .argument("<base64>", "the payload, with or without its `Program data: ` prefix")
    .option("--compact", "print the JSON on one line")
    .addHelpText("after", "\nExample:\n  tributary-ws decode 'Program data: <base64>'\n")
    .action((base64: string, options: { compact?: boolean }, command: Command) => {
      let decoded;
      try {
        decoded = decodeProgramData(base64);
      } catch (error) {
        // Exit code 1 like any other bad input; the message says what is wrong with it.
        command.error(`error: ${error instanceof Error ? error.message : String(error)}`);
      }
      console.log(options.compact ? JSON.stringify(decoded) : JSON.stringify(decoded, null, 2));
    });
}
