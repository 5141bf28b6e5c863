import { useCallback, useEffect, useRef, useState } from "react";
import { createPaymentClient, toWirePayment, type ConnectionState, type WirePayment } from "../../src/client/index.ts";

export interface LivePayment {
  data: WirePayment;
  /** Filled in after a reconnect (or from history on a subscribe) rather than received as it happened. */
  replayed: boolean;
  receivedAt: number;
}

export interface PolicyBadge {
  status: string;
  /** Chain time of the change, unix seconds. */
  timestamp: number;
  /** Position in the policy log: a newer change replaces an older one, never the reverse. */
  policyOffset: number;
}

export interface FeedNotice {
  kind: "ack" | "error";
  text: string;
  at: number;
}

/** Newest first; the library hands each payment over once, and the table keeps a bounded number. */
const MAX_ROWS = 500;

export interface PaymentFeedView {
  state: ConnectionState;
  stateDetail: string;
  payments: LivePayment[];
  notices: FeedNotice[];
  trackingIds: string[];
  /** Newest offset per tracking ID when its subscription was answered; history is read up to it. */
  latestOffsets: Record<string, number | undefined>;
  /** The latest lifecycle status of each tracking ID's payment policy, once one is known. */
  policyStatuses: Record<string, PolicyBadge>;
  watch(trackingId: string): void;
  unwatch(trackingId: string): void;
}

interface Subscriptions {
  add(trackingId: string): void;
  remove(trackingId: string): void;
}

const without = <T>(record: Record<string, T>, key: string): Record<string, T> =>
  Object.fromEntries(Object.entries(record).filter(([id]) => id !== key));

/** One payment client for this page's own origin, owned by the component that uses the hook. */
export function usePaymentFeed(): PaymentFeedView {
  const [state, setState] = useState<ConnectionState>("connecting");
  const [stateDetail, setStateDetail] = useState("");
  const [payments, setPayments] = useState<LivePayment[]>([]);
  const [notices, setNotices] = useState<FeedNotice[]>([]);
  const [trackingIds, setTrackingIds] = useState<string[]>([]);
  const [latestOffsets, setLatestOffsets] = useState<Record<string, number | undefined>>({});
  const [policyStatuses, setPolicyStatuses] = useState<Record<string, PolicyBadge>>({});
  const subscriptionsRef = useRef<Subscriptions | null>(null);
  const trackingIdsRef = useRef<string[]>([]);
  useEffect(() => {
    trackingIdsRef.current = trackingIds;
  }, [trackingIds]);

  useEffect(() => {
    const client = createPaymentClient({ url: window.location.origin, socketOptions: { reconnectionDelayMax: 2000 } });
    const unsubscribes = new Map<string, () => void>();
    const show = (next: ConnectionState, detail: string) => {
      setState(next);
      setStateDetail(detail);
    };
    const notice = (kind: FeedNotice["kind"], text: string) =>
      setNotices((previous) => [{ kind, text, at: Date.now() }, ...previous].slice(0, 20));

    // The library's "recovered" means Socket.IO restored the session. After a
    // fresh session (a restarted server, another node) the page counts itself
    // recovered once every tracking ID is subscribed again, which is when the
    // replay of what it missed begins.
    let connectedBefore = false;
    let restoring = new Set<string>();
    let unrestored = 0;
    const settle = () => {
      if (restoring.size > 0 || client.state !== "connected") return;
      show(
        "recovered",
        unrestored === 0 ? "missed payments replayed from the last offsets seen" : `${unrestored} subscription(s) could not be restored`,
      );
    };

    const listeners = [
      client.on("state", (next) => {
        if (next === "connected" && connectedBefore) {
          restoring = new Set(unsubscribes.keys());
          unrestored = 0;
          show("reconnecting", "subscribing again from the last offsets seen");
          settle();
        } else if (next === "recovered") {
          show("recovered", "session restored by the server");
        } else if (next === "reconnecting") {
          show("reconnecting", "connection lost; retrying");
        } else {
          show(next, "");
        }
        if (next === "connected" || next === "recovered") connectedBefore = true;
      }),
      client.on("subscribed", (info) => {
        notice("ack", `Subscribed to trackingId: ${info.trackingId}`);
        setLatestOffsets((previous) =>
          // The first answer fixes where history ends; later ones (reconnects) would shift it.
          info.trackingId in previous ? previous : { ...previous, [info.trackingId]: info.latestOffset },
        );
        if (restoring.delete(info.trackingId)) settle();
      }),
      client.on("error", (error) => {
        notice("error", `${error.code}: ${error.message}`);
        const { trackingId } = error;
        if (!error.subscriptionEnded || trackingId === undefined) return;
        // The server will not take this tracking ID; listing it as watched would mislead.
        unsubscribes.delete(trackingId);
        setTrackingIds((previous) => previous.filter((id) => id !== trackingId));
        setLatestOffsets((previous) => without(previous, trackingId));
        if (restoring.delete(trackingId)) {
          unrestored += 1;
          settle();
        }
      }),
    ];

    const showPolicy = (trackingId: string, change: PolicyBadge) =>
      setPolicyStatuses((previous) => {
        const shown = previous[trackingId];
        if (shown !== undefined && shown.policyOffset >= change.policyOffset) return previous;
        return { ...previous, [trackingId]: { status: change.status, timestamp: change.timestamp, policyOffset: change.policyOffset } };
      });

    const subscriptions: Subscriptions = {
      add(trackingId) {
        if (unsubscribes.has(trackingId)) return;
        const unsubscribe = client.subscribe(
          trackingId,
          (payment, { replayed }) => {
            const data = toWirePayment(payment);
            setPayments((previous) =>
              // Unwatching and watching again starts a new subscription, which may meet a row already shown.
              previous.some((row) => row.data.id === data.id)
                ? previous
                : [{ data, replayed, receivedAt: Date.now() }, ...previous].slice(0, MAX_ROWS),
            );
          },
          { onPolicy: (change) => showPolicy(trackingId, change) },
        );
        // The live subscription brings changes from now on; the stored log gives the status as it stands.
        void fetch(`/v1/history?trackingId=${encodeURIComponent(trackingId)}&kind=policy&limit=1000`)
          .then((response) => (response.ok ? (response.json() as Promise<{ items: PolicyBadge[] }>) : { items: [] }))
          .then(({ items }) => {
            const newest = items[items.length - 1];
            if (newest !== undefined && unsubscribes.has(trackingId)) showPolicy(trackingId, newest);
          })
          .catch(() => undefined);
        unsubscribes.set(trackingId, unsubscribe);
      },
      remove(trackingId) {
        unsubscribes.get(trackingId)?.();
        unsubscribes.delete(trackingId);
        if (restoring.delete(trackingId)) settle();
      },
    };
    subscriptionsRef.current = subscriptions;
    // Tracking IDs watched before a remount (StrictMode, hot reload) carry over.
    for (const trackingId of trackingIdsRef.current) subscriptions.add(trackingId);
    return () => {
      // Closing reports "disconnected"; the page is not, as a remount (StrictMode, hot reload) connects again at once.
      for (const off of listeners) off();
      client.close();
      subscriptionsRef.current = null;
    };
  }, []);

  const watch = useCallback((trackingId: string) => {
    setTrackingIds((previous) => (previous.includes(trackingId) ? previous : [...previous, trackingId]));
    subscriptionsRef.current?.add(trackingId);
  }, []);

  const unwatch = useCallback((trackingId: string) => {
    setTrackingIds((previous) => previous.filter((id) => id !== trackingId));
    setLatestOffsets((previous) => without(previous, trackingId));
    setPolicyStatuses((previous) => without(previous, trackingId));
    subscriptionsRef.current?.remove(trackingId);
  }, []);

  return { state, stateDetail, payments, notices, trackingIds, latestOffsets, policyStatuses, watch, unwatch };
}
