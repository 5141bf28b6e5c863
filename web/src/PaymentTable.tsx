import type { WirePayment } from "../../src/client/index.ts";
import { EXPLORER_TX, chainTime, shorten } from "./format.ts";

export interface PaymentRow {
  /** Live rows come from the client library, history rows from the REST API: both in wire form. */
  data: WirePayment;
  /** Shown in the last column: how this payment reached the page. */
  source: "live" | "filled in" | "history";
}

export function PaymentTable({ rows, label }: { rows: PaymentRow[]; label: string }) {
  return (
    <table aria-label={label}>
      <thead>
        <tr>
          <th>Time</th>
          <th>Tracking ID</th>
          <th className="number">Amount</th>
          <th>Status</th>
          <th>Signature</th>
          <th>Offset</th>
          <th>Source</th>
        </tr>
      </thead>
      <tbody>
        {rows.map(({ data, source }) => (
          <tr key={data.id} data-payment-id={data.id} className={`source-${source.replace(" ", "-")}`}>
            <td>{chainTime(data.timestamp)}</td>
            <td>{data.trackingId}</td>
            {/* amountRaw is exact; amount is a float above 2^53 */}
            <td className="number">{data.amountRaw}</td>
            <td>
              <span className={`status status-${data.status}`}>{data.status}</span>
            </td>
            <td>
              <a href={`${EXPLORER_TX}${data.signature}`} target="_blank" rel="noreferrer" title={data.signature}>
                {shorten(data.signature)}
              </a>
            </td>
            <td className="number">{data.offset}</td>
            <td>
              <span className="source">{source}</span>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
