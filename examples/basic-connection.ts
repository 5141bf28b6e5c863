// The spec's "Basic Connection", pointed at TRIBUTARY_URL (default http://localhost:8080)
// instead of https://api.tributary.so. Run: npx tsx examples/basic-connection.ts
import { io } from "socket.io-client";
const socket = io(process.env.TRIBUTARY_URL || "http://localhost:8080", {
  path: "/ws/v1",
  transports: ["websocket"],
});
socket.on("connect", () => {
  console.log("Connected to WebSocket");
});
socket.on("disconnect", () => {
  console.log("Disconnected from WebSocket");
});

// Not in the spec: STOP_AFTER_CONNECT=1 disconnects once connected, so that a script (or the test suite) ends.
if (process.env.STOP_AFTER_CONNECT === "1") {
  socket.on("connect", () => socket.disconnect());
}
