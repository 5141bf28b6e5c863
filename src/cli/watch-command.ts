import { inspect } from "node:util";
import { Command, Option } from "commander";
import { createPaymentClient, toWirePayment, type WirePayment } from "../client/index.js";
import { defaultUrl, httpUrl, wholeNumber } from "./options.js";

interface WatchOptions {
  url: string;
  json?: boolean;
  since?: number;
  count?: number;
}

/** The spec's "Complete Example" output for one payment, line for line. */
export function describePayment(data: WirePayment): string[] {
  return [
    `Payment received: ${inspect(data, { breakLength: Infinity })}`,
    // amountRaw: the same digits as the spec's amount, but exact above 2^53.
    `Payment of ${data.amountRaw} for ${data.trackingId}`,
    `Status: ${data.status}`,
    `Transaction: ${data.signature}`,
    `Time: ${new Date(data.timestamp * 1000).toISOString()}`,
  ];
}

export function watchCommand(): Command {
  return new Command("watch")
    .description("subscribe to tracking IDs and print each payment as it arrives; reconnects and fills in what it missed")
    .argument("<trackingId...>", "one or more tracking IDs")
    .addOption(new Option("--url <url>", "service URL [TRIBUTARY_URL]").default(defaultUrl()).argParser(httpUrl))
    .option("--json", "print each payment's data as one JSON line; status messages go to stderr")
    .option("--since <offset>", "first replay the stored payments after this offset", wholeNumber(0))
    .option("--count <n>", "exit after this many payments", wholeNumber(1))
    .action(async (trackingIds: string[], options: WatchOptions) => {
      process.exitCode = await watch(trackingIds, options);
    });
}

function watch(trackingIds: string[], options: WatchOptions): Promise<number> {
  // In --json mode stdout carries only payments, so that it can be piped.
  const say = options.json ? (line: string) => console.error(line) : (line: string) => console.log(line);
  const client = createPaymentClient({ url: options.url, transports: ["websocket"] });
  let received = 0;
  let connectedBefore = false;
  let finished = false;

  return new Promise<number>((resolve) => {
    const finish = (code: number) => {
      if (finished) return;
      finished = true;
      client.close();
      resolve(code);
    };
    client.on("state", (state) => {
      if (finished) return;
      if (state === "connected") {
        say(connectedBefore ? "Reconnected to Tributary WebSocket (subscribing again from the last offsets seen)" : "Connected to Tributary WebSocket");
        connectedBefore = true;
      } else if (state === "recovered") {
        say("Reconnected to Tributary WebSocket (session restored by the server)");
      } else if (state === "reconnecting") {
        say("Disconnected from Tributary WebSocket; reconnecting…");
      } else if (state === "disconnected") {
        console.error("error: disconnected from Tributary WebSocket for good");
        finish(1);
      }
    });
    // The spec's example prints the server's ack; the client library reports each accepted subscribe instead, with the same meaning.
    client.on("subscribed", (info) => say(`Ack: Subscribed to trackingId: ${info.trackingId}`));
    client.on("error", (error) => {
      if (error.subscriptionEnded) {
        console.error(`error: the server refused a subscription: ${error.code}: ${error.message}`);
        finish(1);
      } else {
        console.error("Error:", error);
      }
    });
    // The library only reports giving up; while it retries, a person at the terminal wants to know why nothing happens.
    client.socket.on("connect_error", (error) => {
      if (client.socket.active) console.error(`Connection error: ${error.message}; retrying ${options.url}…`);
    });
    const subscribeOptions = options.since === undefined ? {} : { since: options.since };
    // The library takes one subscription per tracking ID; naming one twice on the command line means it once.
    for (const trackingId of new Set(trackingIds)) {
      client.subscribe(
        trackingId,
        (payment) => {
          const data = toWirePayment(payment);
          if (options.json) console.log(JSON.stringify(data));
          else for (const line of describePayment(data)) console.log(line);
          received += 1;
          if (options.count !== undefined && received >= options.count) finish(0);
        },
        subscribeOptions,
      );
    }
    process.once("SIGINT", () => finish(0));
    process.once("SIGTERM", () => finish(0));
  });
}
