// The spec's "Complete Example", pointed at TRIBUTARY_URL (default http://localhost:8080)
// instead of https://api.tributary.so. Run: npx tsx examples/complete-example.ts
import { io } from "socket.io-client";
const socket = io(process.env.TRIBUTARY_URL || "http://localhost:8080", {
  path: "/ws/v1",
  transports: ["websocket"],
});
// Subscribe to payment notifications
socket.emit("subscribe", { trackingId: "my-subscription-id" });
// Listen for payment events
socket.on("payment", (message) => {
  console.log("Payment received:", message.data);
  const { trackingId, amount, timestamp, status, signature } = message.data;
  console.log(`Payment of ${amount} for ${trackingId}`);
  console.log(`Status: ${status}`);
  console.log(`Transaction: ${signature}`);
  console.log(`Time: ${new Date(timestamp * 1000).toISOString()}`);
});
// Listen for acknowledgments
socket.on("ack", (message) => {
  console.log("Ack:", message.data);
});
// Listen for errors
socket.on("error", (message) => {
  console.error("Error:", message.data);
});
// Handle connection events
socket.on("connect", () => {
  console.log("Connected to Tributary WebSocket");
});
socket.on("disconnect", () => {
  console.log("Disconnected from Tributary WebSocket");
});
// Unsubscribe when done
function unsubscribe(trackingId: string) {
  socket.emit("unsubscribe", { trackingId });
}
// Disconnect
function disconnect() {
  socket.disconnect();
}

// Not in the spec: STOP_AFTER_PAYMENTS=N ends the example after N payments,
// with the spec's own unsubscribe and disconnect, so that a script (or the test suite) ends.
const stopAfter = Number(process.env.STOP_AFTER_PAYMENTS || "0");
let paymentsSeen = 0;
if (stopAfter > 0) {
  socket.on("payment", () => {
    paymentsSeen += 1;
    if (paymentsSeen === stopAfter) {
      unsubscribe("my-subscription-id");
      disconnect();
    }
  });
}
