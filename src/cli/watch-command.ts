import { inspect } from "node:util";
import { Command, Option } from "commander";
import { io } from "socket.io-client";
import { PaymentFeed } from "./payment-feed.js";
import type { PaymentNotificationData } from "../gateway/envelopes.js";
import { SOCKET_PATH } from "../gateway/payment-gateway.js";
import { defaultUrl, httpUrl, wholeNumber } from "./options.js";

interface WatchOptions {
  url: string;
  json?: boolean;
  since?: number;
  count?: number;
}

/** The spec's "Complete Example" output for one payment, line for line. */
export function describePayment(data: PaymentNotificationData): string[] {
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
  const socket = io(options.url, { path: SOCKET_PATH, transports: ["websocket"] });
  let received = 0;

  return new Promise<number>((resolve) => {
    const finish = (code: number) => {
      feed.detach();
      socket.disconnect();
      resolve(code);
    };
    const feed = new PaymentFeed(socket, {
      payment: (data) => {
        if (options.json) console.log(JSON.stringify(data));
        else for (const line of describePayment(data)) console.log(line);
        received += 1;
        if (options.count !== undefined && received >= options.count) finish(0);
      },
      ack: (message) => say(`Ack: ${message.data}`),
      error: (message) => console.error("Error:", message.data),
      subscribed: (response) => {
        if (!response.ok) {
          console.error(`error: the server refused a subscription: ${response.error.code}: ${response.error.message}`);
          finish(1);
        }
      },
      state: (state, detail) => {
        if (state === "connected") say("Connected to Tributary WebSocket");
        else if (state === "recovered") say(`Reconnected to Tributary WebSocket (${detail})`);
      },
    });
    socket.on("disconnect", (reason) => {
      if (socket.active) say(`Disconnected from Tributary WebSocket (${reason}); reconnecting…`);
    });
    socket.on("connect_error", (error) => console.error(`Connection error: ${error.message}; retrying ${options.url}…`));
    for (const trackingId of trackingIds) void feed.subscribe(trackingId, options.since);
    process.once("SIGINT", () => finish(0));
    process.once("SIGTERM", () => finish(0));
  });
}
