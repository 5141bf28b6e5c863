/**
 * Whether `value` holds nothing socket.io-parser could send as binary: only
 * primitives, arrays and plain objects without a `toJSON`. For such a value the
 * parser's text packet is `JSON.stringify` of it; anything else (a Buffer, a
 * typed array, a Blob, a class instance, a Date) goes Socket.IO's stock way.
 */
export function isPlainJson(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return true;
  if (Array.isArray(value)) {
    for (const item of value as unknown[]) if (!isPlainJson(item)) return false;
    return true;
  }
  const prototype: unknown = Object.getPrototypeOf(value);
  if ((prototype !== Object.prototype && prototype !== null) || "toJSON" in value) return false;
  for (const key in value) {
    if (!isPlainJson((value as Record<string, unknown>)[key])) return false;
  }
  return true;
}
