import { useState, type FormEvent } from "react";
import { randomSignature } from "./random-signature.ts";

type Outcome = { ok: true; text: string } | { ok: false; text: string };

/** Sends a test payment through POST /v1/payments; needs one of the server's API keys. */
export function PublishForm({ trackingIds }: { trackingIds: string[] }) {
  const [apiKey, setApiKey] = useState("");
  const [trackingId, setTrackingId] = useState("");
  const [amount, setAmount] = useState("1000000");
  const [status, setStatus] = useState("executed");
  const [sending, setSending] = useState(false);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const target = trackingId || trackingIds[0] || "";

  async function send(event: FormEvent) {
    event.preventDefault();
    setSending(true);
    setOutcome(null);
    try {
      const response = await fetch("/v1/payments", {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${apiKey}` },
        body: JSON.stringify({
          trackingId: target,
          amount,
          status,
          timestamp: Math.floor(Date.now() / 1000),
          signature: randomSignature(),
        }),
      });
      const body = (await response.json()) as { offset?: number; error?: { code: string; message: string } };
      setOutcome(
        response.ok
          ? { ok: true, text: `Published: offset ${body.offset} of ${target}` }
          : { ok: false, text: `${body.error?.code ?? response.status}: ${body.error?.message ?? "refused"}` },
      );
    } catch (error) {
      setOutcome({ ok: false, text: error instanceof Error ? error.message : String(error) });
    } finally {
      setSending(false);
    }
  }

  return (
    <form className="publish" onSubmit={(event) => void send(event)}>
      <h2>Send a test payment</h2>
      <label>
        API key
        <input type="password" value={apiKey} onChange={(event) => setApiKey(event.target.value)} required autoComplete="off" />
      </label>
      <label>
        Payment tracking ID
        <input
          value={target}
          onChange={(event) => setTrackingId(event.target.value)}
          required
          list="watched-tracking-ids"
        />
        <datalist id="watched-tracking-ids">
          {trackingIds.map((id) => (
            <option key={id} value={id} />
          ))}
        </datalist>
      </label>
      <label>
        Amount (base units)
        <input value={amount} onChange={(event) => setAmount(event.target.value)} required pattern="[0-9]+" inputMode="numeric" />
      </label>
      <label>
        Status
        <select value={status} onChange={(event) => setStatus(event.target.value)}>
          <option value="executed">executed</option>
          <option value="pending">pending</option>
          <option value="failed">failed</option>
        </select>
      </label>
      <button type="submit" disabled={sending}>
        {sending ? "Sending…" : "Send"}
      </button>
      {outcome !== null && (
        <p role="status" className={outcome.ok ? "ok" : "error"}>
          {outcome.text}
        </p>
      )}
    </form>
  );
}
