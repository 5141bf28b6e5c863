import { Command, InvalidArgumentError, Option } from "commander";
import type { z } from "zod";
import type {
  createdWebhookResponseSchema,
  listDeliveriesResponseSchema,
  listWebhooksResponseSchema,
  replayWebhookResponseSchema,
  testWebhookResponseSchema,
  WebhookEndpointResponse,
} from "../webhooks/webhook-schemas.js";
import { defaultUrl, httpUrl, wholeNumber } from "./options.js";

interface ServiceOptions {
  key?: string;
  url: string;
  json?: boolean;
}

interface CreateOptions extends ServiceOptions {
  all?: boolean;
  trackingId?: string[];
  trackingIdPrefix?: string;
  gateway?: string;
  recipient?: string;
  types?: string[];
  description?: string;
}

class RequestFailed extends Error {}

/** Calls the service's webhook API; throws with the catalogue's code and message on an error answer. */
async function call<T>(options: ServiceOptions, method: string, path: string, body?: unknown): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`${options.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${options.key}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (error) {
    throw new RequestFailed(`cannot reach ${options.url}: ${error instanceof Error && error.cause instanceof Error ? error.cause.message : String(error)}`);
  }
  const text = await response.text();
  const parsed = text.length === 0 ? undefined : (JSON.parse(text) as { error?: { code: string; message: string } });
  if (!response.ok) throw new RequestFailed(`HTTP ${response.status} ${parsed?.error?.code ?? ""}: ${parsed?.error?.message ?? text}`);
  return parsed as T;
}

function sinceEntry(value: string, previous: Record<string, number> = {}): Record<string, number> {
  const match = /^(.+)=([0-9]+)$/.exec(value);
  if (match === null) throw new InvalidArgumentError("must be <trackingId>=<offset>, such as order-42=17.");
  return { ...previous, [match[1] as string]: Number(match[2]) };
}

function withService(command: Command): Command {
  return command
    .addOption(new Option("--key <apiKey>", "API key [TRIBUTARY_API_KEY]").env("TRIBUTARY_API_KEY"))
    .addOption(new Option("--url <url>", "service URL [TRIBUTARY_URL]").default(defaultUrl()).argParser(httpUrl))
    .option("--json", "print the server's JSON answer");
}

/** Runs one subcommand: checks the key, prints the answer (or the error) and sets the exit code. */
function run<O extends ServiceOptions>(work: (positional: string[], options: O) => Promise<{ json: unknown; text: string }>) {
  return async (...args: unknown[]) => {
    const command = args.at(-1) as Command;
    const options = args.at(-2) as O;
    if (options.key === undefined) command.error("error: an API key is required: --key <apiKey> or TRIBUTARY_API_KEY");
    try {
      const result = await work(args.slice(0, -2) as string[], options);
      console.log(options.json ? JSON.stringify(result.json) : result.text);
    } catch (error) {
      if (!(error instanceof RequestFailed)) throw error;
      console.error(`error: ${error.message}`);
      process.exitCode = 1;
    }
  };
}

const describeEndpoint = (w: WebhookEndpointResponse) =>
  `${w.id}  ${w.enabled ? "enabled " : "DISABLED"}  backlog ${w.state.backlog}  ${w.url}  ${JSON.stringify(w.filter)}` +
  (w.disabledReason === undefined ? "" : `  (${w.disabledReason})`);

/** `tributary-ws webhooks …`: manage the webhook endpoints of an API key. */
export function webhooksCommand(): Command {
  const webhooks = new Command("webhooks").description("register webhook endpoints, see their deliveries, replay and test them");

  webhooks.addCommand(
    withService(new Command("create"))
      .description("register an endpoint; prints its id and signing secret (shown only this once)")
      .argument("<endpoint-url>", "where the webhooks go (https)")
      .option("--all", "every payment and policy event")
      .option("--tracking-id <id...>", "events of these tracking IDs")
      .option("--tracking-id-prefix <prefix>", "events whose tracking ID starts with this")
      .option("--gateway <pubkey>", "events through this gateway")
      .option("--recipient <pubkey>", "events to this recipient")
      .option("--types <kind...>", "only these kinds: payment, policy (both by default)")
      .option("--description <text>", "a note for yourself")
      .action(
        run(async ([endpointUrl], options: CreateOptions) => {
          const filters = [
            options.all === true ? { all: true } : undefined,
            options.trackingId === undefined ? undefined : { trackingIds: options.trackingId },
            options.trackingIdPrefix === undefined ? undefined : { trackingIdPrefix: options.trackingIdPrefix },
            options.gateway === undefined ? undefined : { gateway: options.gateway },
            options.recipient === undefined ? undefined : { recipient: options.recipient },
          ].filter((filter) => filter !== undefined);
          if (filters.length !== 1) {
            throw new RequestFailed("give exactly one of --all, --tracking-id, --tracking-id-prefix, --gateway, --recipient");
          }
          const created = await call<z.infer<typeof createdWebhookResponseSchema>>(options, "POST", "/v1/webhooks", {
            url: endpointUrl,
            filter: { ...filters[0], ...(options.types === undefined ? {} : { types: options.types }) },
            ...(options.description === undefined ? {} : { description: options.description }),
          });
          return { json: created, text: `Created ${created.id}\nSigning secret (shown only now): ${created.secret}` };
        }),
      ),
  );

  webhooks.addCommand(
    withService(new Command("list"))
      .description("the endpoints of this API key, with their state")
      .action(
        run(async (_positional, options: ServiceOptions) => {
          const listed = await call<z.infer<typeof listWebhooksResponseSchema>>(options, "GET", "/v1/webhooks");
          const lines = listed.webhooks.map(describeEndpoint);
          return { json: listed, text: lines.length === 0 ? "No webhook endpoints" : lines.join("\n") };
        }),
      ),
  );

  webhooks.addCommand(
    withService(new Command("deliveries"))
      .description("an endpoint's latest delivery attempts, newest first")
      .argument("<id>", "endpoint id")
      .option("--limit <n>", "attempts to show", wholeNumber(1, 500), 20)
      .action(
        run(async ([id = ""], options: ServiceOptions & { limit: number }) => {
          const log = await call<z.infer<typeof listDeliveriesResponseSchema>>(options, "GET", `/v1/webhooks/${encodeURIComponent(id)}/deliveries?limit=${options.limit}`);
          const lines = log.attempts.map(
            (a) =>
              `${a.attemptedAt}  ${a.messageId}  #${a.attempt}  ${a.statusCode ?? "---"}  ${a.latencyMs} ms` +
              (a.error === undefined ? "" : `  ${a.error}`) +
              (a.nextRetryAt === undefined ? "" : `  next try ${a.nextRetryAt}`),
          );
          return { json: log, text: lines.length === 0 ? "No attempts yet" : lines.join("\n") };
        }),
      ),
  );

  webhooks.addCommand(
    withService(new Command("replay"))
      .description("send payments again: after an offset per tracking ID, or received since a time")
      .argument("<id>", "endpoint id")
      .option("--since <trackingId=offset...>", "resend what came after this offset (repeatable)", sinceEntry)
      .option("--from <time>", "resend what the service received from this ISO 8601 time on")
      .action(
        run(async ([id = ""], options: ServiceOptions & { since?: Record<string, number>; from?: string }) => {
          if ((options.since === undefined) === (options.from === undefined)) throw new RequestFailed("give either --since or --from");
          const body = options.since === undefined ? { from: options.from } : { since: options.since };
          const answer = await call<z.infer<typeof replayWebhookResponseSchema>>(
            options,
            "POST",
            `/v1/webhooks/${encodeURIComponent(id)}/replay`,
            body,
          );
          return { json: answer, text: `Queued ${answer.queued} message(s) again` };
        }),
      ),
  );

  webhooks.addCommand(
    withService(new Command("test"))
      .description("send a webhook.test message to an endpoint")
      .argument("<id>", "endpoint id")
      .action(
        run(async ([id = ""], options: ServiceOptions) => {
          const answer = await call<z.infer<typeof testWebhookResponseSchema>>(options, "POST", `/v1/webhooks/${encodeURIComponent(id)}/test`);
          return { json: answer, text: `Queued test message ${answer.messageId}` };
        }),
      ),
  );
  return webhooks;
}
