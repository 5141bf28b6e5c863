import { useCallback, useEffect, useRef, useState } from "react";
import { io } from "socket.io-client";
import { PaymentFeed, type ConnectionState } from "../../src/cli/payment-feed.ts";
import type { PaymentNotificationData } from "../../src/protocol/wire.ts";

export interface LivePayment {
  data: PaymentNotificationData;
  /** Filled in after a reconnect rather than received as it happened. */
  replayed: boolean;
  receivedAt: number;
}

export interface FeedNotice {
  kind: "ack" | "error";
  text: string;
  at: number;
}

/** Newest first, and never the same payment twice even if a replay overlaps. */
const MAX_ROWS = 500;

export interface PaymentFeedView {
  state: ConnectionState;
  stateDetail: string;
  payments: LivePayment[];
  notices: FeedNotice[];
  trackingIds: string[];
  /** Newest offset per tracking ID when its subscription was answered; history is read up to it. */
  latestOffsets: Record<string, number | undefined>;
  watch(trackingId: string): void;
  unwatch(trackingId: string): void;
}

/** One Socket.IO connection to this page's own origin, owned by the component that uses the hook. */
export function usePaymentFeed(): PaymentFeedView {
  const [state, setState] = useState<ConnectionState>("connecting");
  const [stateDetail, setStateDetail] = useState("");
  const [payments, setPayments] = useState<LivePayment[]>([]);
  const [notices, setNotices] = useState<FeedNotice[]>([]);
  const [trackingIds, setTrackingIds] = useState<string[]>([]);
  const [latestOffsets, setLatestOffsets] = useState<Record<string, number | undefined>>({});
  const feedRef = useRef<PaymentFeed | null>(null);
  const trackingIdsRef = useRef<string[]>([]);
  useEffect(() => {
    trackingIdsRef.current = trackingIds;
  }, [trackingIds]);

  useEffect(() => {
    const socket = io({ path: "/ws/v1", reconnectionDelayMax: 2000 });
    const notice = (kind: FeedNotice["kind"], text: string) =>
      setNotices((previous) => [{ kind, text, at: Date.now() }, ...previous].slice(0, 20));
    const feed = new PaymentFeed(socket, {
      payment: (data, _envelope, replayed) =>
        setPayments((previous) =>
          previous.some((row) => row.data.id === data.id)
            ? previous
            : [{ data, replayed, receivedAt: Date.now() }, ...previous].slice(0, MAX_ROWS),
        ),
      ack: (message) => notice("ack", message.data),
      error: (message) => notice("error", `${message.data.code}: ${message.data.message}`),
      subscribed: (response) => {
        if (response.ok && response.subscribed) {
          setLatestOffsets((previous) =>
            // The first answer fixes where history ends; later ones (reconnects) would shift it.
            response.trackingId in previous ? previous : { ...previous, [response.trackingId]: response.latestOffset },
          );
        }
      },
      state: (next, detail) => {
        setState(next);
        setStateDetail(detail);
      },
    });
    feedRef.current = feed;
    // Tracking IDs watched before a remount (StrictMode, hot reload) carry over.
    for (const trackingId of trackingIdsRef.current) void feed.subscribe(trackingId);
    return () => {
      feed.detach();
      socket.disconnect();
      feedRef.current = null;
    };
  }, []);

  const watch = useCallback((trackingId: string) => {
    setTrackingIds((previous) => (previous.includes(trackingId) ? previous : [...previous, trackingId]));
    void feedRef.current?.subscribe(trackingId);
  }, []);

  const unwatch = useCallback((trackingId: string) => {
    setTrackingIds((previous) => previous.filter((id) => id !== trackingId));
    setLatestOffsets((previous) => Object.fromEntries(Object.entries(previous).filter(([id]) => id !== trackingId)));
    feedRef.current?.unsubscribe(trackingId);
  }, []);

  return { state, stateDetail, payments, notices, trackingIds, latestOffsets, watch, unwatch };
}
