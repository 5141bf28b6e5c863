import { useEffect, useState } from "react";
import type { PaymentNotificationData } from "../../src/protocol/wire.ts";
import { PaymentTable } from "./PaymentTable.tsx";

const RECENT = 10;

/** The payments stored before the page started watching: read once from the REST history. */
export function HistoryPanel({ trackingId, upTo }: { trackingId: string; upTo: number | undefined }) {
  const [payments, setPayments] = useState<PaymentNotificationData[] | null>(null);
  const [failure, setFailure] = useState<string | null>(null);

  useEffect(() => {
    if (upTo === undefined) return;
    const controller = new AbortController();
    const query = new URLSearchParams({ trackingId, after: String(Math.max(0, upTo - RECENT)), limit: String(RECENT) });
    fetch(`/v1/payments?${query}`, { signal: controller.signal })
      .then(async (response) => {
        const body = (await response.json()) as { payments?: PaymentNotificationData[]; error?: { message: string } };
        if (!response.ok || body.payments === undefined) throw new Error(body.error?.message ?? `HTTP ${response.status}`);
        setPayments(body.payments.filter((payment) => payment.offset <= upTo).reverse());
      })
      .catch((error: unknown) => {
        if (!controller.signal.aborted) setFailure(error instanceof Error ? error.message : String(error));
      });
    return () => controller.abort();
  }, [trackingId, upTo]);

  return (
    <section className="history" aria-label={`History of ${trackingId}`}>
      <h3>
        Recent history of <code>{trackingId}</code> <span className="hint">(stored before you started watching)</span>
      </h3>
      {failure !== null ? (
        <p className="error">Could not read the history: {failure}</p>
      ) : payments === null ? (
        <p className="hint">Loading…</p>
      ) : payments.length === 0 ? (
        <p className="hint">No earlier payments.</p>
      ) : (
        <PaymentTable label={`History payments of ${trackingId}`} rows={payments.map((data) => ({ data, source: "history" }))} />
      )}
    </section>
  );
}
