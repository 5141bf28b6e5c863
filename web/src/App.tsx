import { useState, type FormEvent } from "react";
import type { ConnectionState } from "../../src/client/index.ts";
import { parseTrackingIds } from "./format.ts";
import { HistoryPanel } from "./HistoryPanel.tsx";
import { PaymentTable } from "./PaymentTable.tsx";
import { PublishForm } from "./PublishForm.tsx";
import { StatsPanel } from "./StatsPanel.tsx";
import { usePaymentFeed } from "./use-payment-feed.ts";
import { WebhooksPanel } from "./WebhooksPanel.tsx";

const STATE_TEXT: Record<ConnectionState, string> = {
  connecting: "Connecting",
  connected: "Connected",
  reconnecting: "Reconnecting",
  recovered: "Recovered",
  disconnected: "Disconnected",
};

export function App() {
  const feed = usePaymentFeed();
  const [input, setInput] = useState("");

  function submit(event: FormEvent) {
    event.preventDefault();
    for (const trackingId of parseTrackingIds(input)) feed.watch(trackingId);
    setInput("");
  }

  return (
    <main>
      <header>
        <h1>Tributary live payments</h1>
        <p className={`connection connection-${feed.state}`} role="status" aria-label="Connection state" title={feed.stateDetail}>
          {STATE_TEXT[feed.state]}
          {feed.stateDetail && <span className="detail"> — {feed.stateDetail}</span>}
        </p>
      </header>

      <StatsPanel />

      <form className="watch" onSubmit={submit}>
        <label>
          Tracking IDs to watch
          <input
            value={input}
            onChange={(event) => setInput(event.target.value)}
            placeholder="my-subscription-id, another-id"
          />
        </label>
        <button type="submit">Watch</button>
      </form>

      {feed.trackingIds.length > 0 && (
        <ul className="watched" aria-label="Watched tracking IDs">
          {feed.trackingIds.map((trackingId) => (
            <li key={trackingId}>
              <code>{trackingId}</code>
              {feed.policyStatuses[trackingId] !== undefined && (
                <span
                  className={`policy-badge policy-${feed.policyStatuses[trackingId].status}`}
                  aria-label={`Policy status of ${trackingId}`}
                  title={`since ${new Date(feed.policyStatuses[trackingId].timestamp * 1000).toLocaleString()}`}
                >
                  {feed.policyStatuses[trackingId].status}
                </span>
              )}
              <button type="button" onClick={() => feed.unwatch(trackingId)} aria-label={`Stop watching ${trackingId}`}>
                ×
              </button>
            </li>
          ))}
        </ul>
      )}

      <section aria-label="Live payments">
        <h2>Live payments</h2>
        {feed.payments.length === 0 ? (
          <p className="hint">
            {feed.trackingIds.length === 0 ? "Enter a tracking ID to start watching." : "Waiting for payments…"}
          </p>
        ) : (
          <PaymentTable
            label="Live payments"
            rows={feed.payments.map((row) => ({ data: row.data, source: row.replayed ? "filled in" : "live" }))}
          />
        )}
      </section>

      {feed.trackingIds.map((trackingId) => (
        <HistoryPanel key={trackingId} trackingId={trackingId} upTo={feed.latestOffsets[trackingId]} />
      ))}

      <PublishForm trackingIds={feed.trackingIds} />

      <WebhooksPanel />

      {feed.notices.length > 0 && (
        <section className="notices" aria-label="Server messages">
          <h2>Server messages</h2>
          <ul>
            {feed.notices.map((notice) => (
              <li key={`${notice.at}-${notice.text}`} className={notice.kind}>
                {new Date(notice.at).toLocaleTimeString()} {notice.text}
              </li>
            ))}
          </ul>
        </section>
      )}
    </main>
  );
}
