// Relies on Node's EventEmitter keeping its listeners in `_events`, an object it only reads and writes by key;
// test/unit/engine-internals.test.ts checks it.
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
    compact[name] = Array.isArray(listeners) ? listeners.slice() : listeners;
  }
  holder._events = compact;
}

interface Transport extends EventEmitter {
  name: string;
  socket?: EventEmitter | null;
}

interface EngineParts extends EventEmitter {
  transport: Transport;
}

/**
 * Compacts the listener tables a connected Socket.IO socket keeps for its
 * life: the socket's, its Engine.IO connection's, the transport's and the
 * `ws` socket's (about 800 bytes per WebSocket connection in all). A
 * connection that starts with long-polling has its WebSocket's compacted
 * when it upgrades.
 */
export function compactConnectionListeners(socket: EventEmitter): void {
  compactListeners(socket);
  const conn = (socket as unknown as { conn: EngineParts }).conn;
  if (conn.transport.name === "websocket") compactEngineParts.call(conn);
  else conn.once("upgrade", compactEngineParts);
}

/** Called with the connection as `this`, so one function serves every connection's upgrade. */
function compactEngineParts(this: EngineParts): void {
  compactListeners(this);
  compactListeners(this.transport);
  const ws = this.transport.socket;
  if (ws !== undefined && ws !== null) compactListeners(ws);
}
