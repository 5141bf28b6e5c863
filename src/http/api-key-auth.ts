import { createHash, timingSafeEqual } from "node:crypto";
import { ServiceError } from "../errors.js";

/**
 * Checks `Authorization: Bearer <key>` against the configured keys. Keys are
 * compared as SHA-256 digests with timingSafeEqual, and every key is tried,
 * so neither a key's length nor its position in the list leaks through timing.
 */
export function createApiKeyCheck(keys: readonly string[]): (authorization: string | undefined) => void {
  const digests = keys.map(digest);
  return (authorization) => {
    if (digests.length === 0) throw new ServiceError("PUBLISHING_DISABLED");
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
    const presented = digest(match?.[1] ?? "");
    let accepted = false;
    for (const key of digests) accepted = timingSafeEqual(key, presented) || accepted;
    if (!accepted || match === null) throw new ServiceError("UNAUTHORIZED");
  };
}

function digest(value: string): Buffer {
  return createHash("sha256").update(value).digest();
}
