import { randomBytes } from "node:crypto";
import bs58 from "bs58";
import { Command, InvalidArgumentError, Option } from "commander";
import { defaultUrl, httpUrl, wholeNumber } from "./options.js";

interface PublishOptions {
  trackingId: string;
  amount: string;
  signature?: string;
  status: string;
  timestamp?: number;
  eventIndex?: number;
  key?: string;
  url: string;
  json?: boolean;
}

function amount(value: string): string {
  if (!/^[0-9]+$/.test(value)) throw new InvalidArgumentError("must be a whole number of base units, such as 1000000.");
  return value;
}

export function publishCommand(): Command {
  return new Command("publish")
    .description("publish one payment through POST /v1/payments (a test payment, or one from a script)")
    .requiredOption("--tracking-id <id>", "tracking ID (the payment memo)")
    .requiredOption("--amount <units>", "amount in the token's base units, a u64", amount)
    .option("--signature <base58>", "transaction signature (default: a random valid one)")
    .addOption(new Option("--status <status>", "payment status").choices(["executed", "failed", "pending"]).default("executed"))
    .option("--timestamp <seconds>", "chain time, unix seconds (default: now)", wholeNumber(0))
    .option("--event-index <n>", "event index within the transaction", wholeNumber(0))
    .addOption(new Option("--key <apiKey>", "API key [TRIBUTARY_API_KEY]").env("TRIBUTARY_API_KEY"))
    .addOption(new Option("--url <url>", "service URL [TRIBUTARY_URL]").default(defaultUrl()).argParser(httpUrl))
    .option("--json", "print the server's JSON answer")
    .action(async (options: PublishOptions, command: Command) => {
      if (options.key === undefined) command.error("error: an API key is required: --key <apiKey> or TRIBUTARY_API_KEY");
      process.exitCode = await publish(options);
    });
}

async function publish(options: PublishOptions): Promise<number> {
  const payment = {
    trackingId: options.trackingId,
    amount: options.amount,
    timestamp: options.timestamp ?? Math.floor(Date.now() / 1000),
    status: options.status,
    signature: options.signature ?? bs58.encode(randomBytes(64)),
    ...(options.eventIndex === undefined ? {} : { eventIndex: options.eventIndex }),
  };
  let response: Response;
  try {
    response = await fetch(`${options.url}/v1/payments`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${options.key}` },
      body: JSON.stringify(payment),
    });
  } catch (error) {
    console.error(`error: cannot reach ${options.url}: ${error instanceof Error && error.cause instanceof Error ? error.cause.message : String(error)}`);
    return 1;
  }
  const text = await response.text();
  let body: { id?: string; offset?: number; duplicate?: boolean; error?: { code: string; message: string; path?: string } };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    console.error(`error: HTTP ${response.status} with a body that is not JSON: ${text.slice(0, 200)}`);
    return 1;
  }
  if (!response.ok || body.error !== undefined) {
    const path = body.error?.path === undefined ? "" : ` (${body.error.path})`;
    console.error(`error: HTTP ${response.status} ${body.error?.code ?? ""}: ${body.error?.message ?? text}${path}`);
    return 1;
  }
  if (options.json) console.log(JSON.stringify(body));
  else {
    console.log(
      `${body.duplicate ? "Already stored" : "Published"} ${body.id} as offset ${body.offset} of ${payment.trackingId}`,
    );
  }
  return 0;
}
