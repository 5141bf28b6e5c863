import { spawn } from "node:child_process";
import { Command } from "commander";
import { packageRoot } from "../package-root.js";

export function benchCommand(): Command {
  return new Command("bench")
    .description("run the benchmark harness (bench/run.ts, from a source checkout); arguments after -- go to it")
    .argument("[args...]", "harness arguments, e.g. -- --quick (see: tributary-ws bench -- --help)")
    .allowUnknownOption()
    .addHelpText("after", "\nExamples:\n  tributary-ws bench -- --quick\n  tributary-ws bench -- --help")
    .action(async (args: string[]) => {
      const child = spawn("npx", ["tsx", "bench/run.ts", ...args], { cwd: packageRoot(), stdio: "inherit" });
      process.exitCode = await new Promise<number>((resolve) => {
        child.once("error", (error) => {
          console.error(`error: cannot start the harness: ${error.message}`);
          resolve(1);
        });
        child.once("exit", (code, signal) => resolve(code ?? (signal === null ? 1 : 128 + 2)));
      });
    });
}
