/**
 * A merchant backend receiving tributary-ws webhooks: verifies each one with
 * the `standardwebhooks` package, acts on each webhook-id once, and answers
 * 2xx only after the payment is handled (anything else is retried).
 *
 *   WEBHOOK_SECRET=whsec_… PORT=3000 npx tsx examples/webhook-receiver.ts
 */
import { createServer } from "node:http";
import { Webhook, WebhookVerificationError } from "standardwebhooks";

const secret = process.env.WEBHOOK_SECRET;
if (secret === undefined) throw new Error("set WEBHOOK_SECRET to the endpoint's whsec_… secret");
const verifier = new Webhook(secret);

// Use your database in production: a webhook-id may arrive more than once.
const handled = new Set<string>();

interface PaymentWebhook {
  type: string;
  timestamp: string;
  data: { trackingId: string; offset: number; amountRaw: string; status: string; id: string };
}

const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on("data", (chunk: Buffer) => chunks.push(chunk));
  request.on("end", () => {
    // Verify the raw bytes: a body parsed and serialised again would not match the signature.
    const body = Buffer.concat(chunks).toString("utf8");
    let event: PaymentWebhook;
    try {
      event = verifier.verify(body, {
        "webhook-id": String(request.headers["webhook-id"]),
        "webhook-timestamp": String(request.headers["webhook-timestamp"]),
        "webhook-signature": String(request.headers["webhook-signature"]),
      }) as PaymentWebhook;
    } catch (error) {
      if (!(error instanceof WebhookVerificationError)) throw error;
      console.log(`rejected: ${error.message}`);
      response.writeHead(400).end();
      return;
    }
    const id = String(request.headers["webhook-id"]);
    if (!handled.has(id)) {
      handled.add(id);
      // Grant access, ship the order… Offsets of one tracking ID arrive in order.
      console.log(`verified ${id} ${event.type}${event.type.startsWith("payment.") ? ` ${event.data.trackingId}#${event.data.offset} ${event.data.amountRaw}` : ""}`);
    }
    response.writeHead(204).end();
  });
});

server.listen(Number(process.env.PORT ?? 3000), "127.0.0.1", () => console.log("listening"));
