// Relies on Node's EventEmitter keeping its listeners in `_events`, an object it only reads and writes by key, on the
// Socket.IO decoder's `_callbacks` (component-emitter) and Engine.IO's `cleanupFn`; test/unit/engine-internals.test.ts checks them.
import type { EventEmitter } from "node:events";

/**
 * The prototype of every compacted listener table: empty and without a
 * prototype of its own, so that an event named `toString` or `__proto__`
 * finds no listener, as in EventEmitter's own `{ __proto__: null }` table.
 */
const NO_LISTENERS: object = Object.freeze(Object.create(null) as object);

interface ListenerHolder {
  _events?: Record<string, unknown>;
}

/**
 * Moves an emitter's listeners into a table V8 keeps in fast mode. EventEmitter
 * starts every table as `{ __proto__: null }`, which V8 keeps as a hash
 * table: 185 bytes for three event names, 283 for four, 470 for six. Tables
 * with the same names in the same order share one hidden class and cost
 * 55 – 95 bytes. Node's own streams start theirs in fast mode for the same
 * reason. The emitter works as before; removing an event's last listener
 * turns its table back into a hash table.
 */
export function compactListeners(emitter: EventEmitter): void {
  const holder = emitter as unknown as ListenerHolder;
  const table = holder._events;
  if (table === undefined || Object.getPrototypeOf(table) !== null) return;
  const compact = Object.create(NO_LISTENERS) as Record<string, unknown>;
  // Symbols name events too (events.errorMonitor); in insertion order, so that equal tables share a hidden class.
  // An event's listeners, when more than one, are an array grown by `push` with room for 16 more (152 bytes or more);
  // EventEmitter copies it before each emit, so an exact-size copy serves as well.
  for (const name of Reflect.ownKeys(table) as string[]) {
    const listeners = table[name];
    compact[name] = exactSize(listeners);
  }
  holder._events = compact;
}

interface Transport extends EventEmitter {
  name: string;
  socket?: EventEmitter | null;
}

interface EngineParts extends EventEmitter {
  transport: Transport;
  /** What undoes the transport's listeners; Engine.IO pushes one entry per transport onto an empty array. */
  cleanupFn?: unknown[];
}

interface SocketParts {
  conn: EngineParts;
  /** Socket.IO's decoder is a component-emitter: its listeners are arrays in `_callbacks`, one per event. */
  client?: { decoder?: { _callbacks?: Record<string, unknown> } };
}

/**
 * Compacts the listener tables a connected Socket.IO socket keeps for its
 * life: the socket's, its Engine.IO connection's, the transport's and the
 * `ws` socket's (about 800 bytes per WebSocket connection in all), and the
 * lists Socket.IO's decoder and Engine.IO grow by `push` once per connection.
 * A connection that starts with long-polling has its WebSocket's compacted
 * when it upgrades.
 */
export function compactConnectionListeners(socket: EventEmitter): void {
  compactListeners(socket);
  const { conn, client } = socket as unknown as SocketParts;
  const callbacks = client?.decoder?._callbacks;
  // component-emitter copies the array before each emit, as EventEmitter does.
  if (callbacks !== undefined) for (const [name, listeners] of Object.entries(callbacks)) callbacks[name] = exactSize(listeners);
  if (conn.transport.name === "websocket") compactEngineParts.call(conn);
  else conn.once("upgrade", compactEngineParts);
}

/** Called with the connection as `this`, so one function serves every connection's upgrade. */
function compactEngineParts(this: EngineParts): void {
  compactListeners(this);
  compactListeners(this.transport);
  // Engine.IO runs and empties it on the next upgrade or close, whatever its length.
  if (Array.isArray(this.cleanupFn)) this.cleanupFn = this.cleanupFn.slice();
  const ws = this.transport.socket;
  if (ws !== undefined && ws !== null) compactListeners(ws);
}

/** An array copied to its length (an array grown by `push` has room for 16 more); anything else as it is. */
function exactSize(value: unknown): unknown {
  return Array.isArray(value) ? value.slice() : value;
}
