import { useEffect, useState } from "react";

interface StatsReport {
  connections: number;
  subscriptions: number;
  paymentsIngestedTotal: number;
  timestamp: number;
}

const POLL_MS = 2000;

/** Server status from GET /v1/stats; the rate comes from two consecutive readings. */
export function StatsPanel() {
  const [stats, setStats] = useState<StatsReport | null>(null);
  const [rate, setRate] = useState<number | null>(null);
  const [failure, setFailure] = useState(false);

  useEffect(() => {
    let previous: StatsReport | null = null;
    let stopped = false;
    const poll = async () => {
      try {
        const response = await fetch("/v1/stats", { cache: "no-store" });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        const current = (await response.json()) as StatsReport;
        if (stopped) return;
        if (previous !== null && current.timestamp > previous.timestamp) {
          setRate(((current.paymentsIngestedTotal - previous.paymentsIngestedTotal) * 1000) / (current.timestamp - previous.timestamp));
        }
        previous = current;
        setStats(current);
        setFailure(false);
      } catch {
        if (!stopped) setFailure(true);
      }
    };
    void poll();
    const timer = setInterval(() => void poll(), POLL_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, []);

  return (
    <section className="stats" aria-label="Server status">
      <Stat label="Connections" value={stats?.connections} />
      <Stat label="Subscriptions" value={stats?.subscriptions} />
      <Stat label="Payments / s" value={rate === null ? undefined : Math.max(0, rate).toFixed(1)} />
      <Stat label="Stored since server start" value={stats?.paymentsIngestedTotal} />
      {failure && <p className="error">Server status unavailable</p>}
    </section>
  );
}

function Stat({ label, value }: { label: string; value: number | string | undefined }) {
  return (
    <div className="stat">
      <div className="stat-value" aria-label={label}>
        {value ?? "–"}
      </div>
      <div className="stat-label">{label}</div>
    </div>
  );
}
