// Relies on Socket.IO's Socket keeping its middlewares in the array `fns`, which `use` appends to and each event
// copies before running; test/unit/engine-internals.test.ts checks it.
import type { Socket } from "socket.io";

type Middleware = Parameters<Socket["use"]>[0];

/**
 * `socket.use(middleware)`, with the socket's list of middlewares kept to its
 * size: `use` pushes onto an empty array, which V8 grows to room for 17
 * (152 bytes per connection where one entry takes 24). Socket.IO copies the
 * list before each event, so a list of the right size serves as well.
 */
export function useMiddleware(socket: Socket, middleware: Middleware): void {
  socket.use(middleware);
  const holder = socket as unknown as { fns?: unknown };
  if (Array.isArray(holder.fns)) holder.fns = holder.fns.slice();
}
