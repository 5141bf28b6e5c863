// The spec's "React Example". The one change: the server URL is a prop, defaulting
// to a local service instead of https://api.tributary.so.
import { useEffect, useState } from "react";
import { io, Socket } from "socket.io-client";
export function PaymentNotifier({ trackingId, url = "http://localhost:8080" }: { trackingId: string; url?: string }) {
  const [socket, setSocket] = useState<Socket | null>(null);
  const [payments, setPayments] = useState<any[]>([]);
  useEffect(() => {
    const socketInstance = io(url, {
      path: "/ws/v1",
      transports: ["websocket"],
    });
    socketInstance.emit("subscribe", { trackingId });
    socketInstance.on("payment", (message) => {
      console.log("Payment received:", message.data);
      setPayments((prev) => [...prev, message.data]);
    });
    socketInstance.on("ack", (message) => {
      console.log("Ack:", message.data);
    });
    socketInstance.on("error", (message) => {
      console.error("Error:", message.data);
    });
    setSocket(socketInstance);
    return () => {
      socketInstance.emit("unsubscribe", { trackingId });
      socketInstance.disconnect();
    };
  }, [trackingId, url]);
  return (
    <div>
      <h3>Payments: {payments.length}</h3>
      <ul>
        {payments.map((payment, i) => (
          <li key={i}>
            {payment.amount} at{" "}
            {new Date(payment.timestamp * 1000).toLocaleString()}
          </li>
        ))}
      </ul>
    </div>
  );
}
