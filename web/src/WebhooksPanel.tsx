import { useState, type FormEvent } from "react";

/** The fields of a GET /v1/webhooks item the page shows (the full shape is in docs/webhooks.md). */
interface WebhookEndpointResponse {
  id: string;
  url: string;
  enabled: boolean;
  disabledReason?: string;
  state: { backlog: number; oldestPendingAgeSeconds?: number; lastSuccessAt?: string; lastFailureAt?: string; lastError?: string };
}

type Loaded = { ok: true; webhooks: WebhookEndpointResponse[] } | { ok: false; text: string };

/** The webhook endpoints of an API key and whether they deliver, from GET /v1/webhooks. */
export function WebhooksPanel() {
  const [apiKey, setApiKey] = useState("");
  const [loaded, setLoaded] = useState<Loaded | null>(null);

  async function load(event: FormEvent) {
    event.preventDefault();
    try {
      const response = await fetch("/v1/webhooks", { headers: { authorization: `Bearer ${apiKey}` }, cache: "no-store" });
      const body = (await response.json()) as { webhooks?: WebhookEndpointResponse[]; error?: { code: string; message: string } };
      setLoaded(response.ok ? { ok: true, webhooks: body.webhooks ?? [] } : { ok: false, text: `${body.error?.code}: ${body.error?.message}` });
    } catch (error) {
      setLoaded({ ok: false, text: error instanceof Error ? error.message : String(error) });
    }
  }

  return (
    <section className="webhooks" aria-label="Webhook endpoints">
      <h2>Webhook endpoints</h2>
      <form onSubmit={(event) => void load(event)}>
        <label>
          Webhooks of key
          <input type="password" value={apiKey} onChange={(event) => setApiKey(event.target.value)} required autoComplete="off" />
        </label>
        <button type="submit">Show</button>
      </form>
      {loaded !== null && !loaded.ok && <p className="error">{loaded.text}</p>}
      {loaded?.ok === true &&
        (loaded.webhooks.length === 0 ? (
          <p className="hint">This key has no webhook endpoints.</p>
        ) : (
          <table aria-label="Webhook endpoints">
            <thead>
              <tr>
                <th>URL</th>
                <th>State</th>
                <th>Backlog</th>
                <th>Oldest waiting</th>
                <th>Last success</th>
                <th>Last failure</th>
              </tr>
            </thead>
            <tbody>
              {loaded.webhooks.map((webhook) => (
                <tr key={webhook.id}>
                  <td>
                    <code>{webhook.url}</code>
                  </td>
                  <td className={webhook.enabled ? "ok" : "error"}>
                    {webhook.enabled ? "enabled" : `disabled: ${webhook.disabledReason ?? ""}`}
                  </td>
                  <td>{webhook.state.backlog}</td>
                  <td>{webhook.state.oldestPendingAgeSeconds === undefined ? "—" : `${webhook.state.oldestPendingAgeSeconds} s`}</td>
                  <td>{webhook.state.lastSuccessAt === undefined ? "—" : new Date(webhook.state.lastSuccessAt).toLocaleString()}</td>
                  <td title={webhook.state.lastError}>
                    {webhook.state.lastFailureAt === undefined ? "—" : new Date(webhook.state.lastFailureAt).toLocaleString()}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ))}
    </section>
  );
}
