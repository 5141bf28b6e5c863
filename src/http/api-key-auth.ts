import { createHash, timingSafeEqual } from "node:crypto";
import { ServiceError } from "../errors.js";

/**
 * Finds which configured key `Authorization: Bearer <key>` presents, if any.
 * Keys are compared as SHA-256 digests with timingSafeEqual, and every key is
 * tried, so neither a key's length nor its position in the list leaks
 * through timing. The answer is the key's position, never the key.
 */
export function createApiKeyMatcher(keys: readonly string[]): (authorization: string | undefined) => number | undefined {
  const digests = keys.map(digest);
  return (authorization) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
    const presented = digest(match?.[1] ?? "");
    let found: number | undefined;
    digests.forEach((key, index) => {
      if (timingSafeEqual(key, presented) && found === undefined) found = index;
    });
    return match === null ? undefined : found;
  };
}

/** Throws unless `Authorization` carries a configured key. */
export function createApiKeyCheck(keys: readonly string[]): (authorization: string | undefined) => void {
  const match = createApiKeyMatcher(keys);
  return (authorization) => {
    if (keys.length === 0) throw new ServiceError("PUBLISHING_DISABLED");
    if (match(authorization) === undefined) throw new ServiceError("UNAUTHORIZED");
  };
}

function digest(value: string): Buffer {
  return createHash("sha256").update(value).digest();
}

/**
 * Names the owner of what a key creates (webhook endpoints): a digest of the
 * presented configured key, so the key itself is never stored. Throws like
 * {@link createApiKeyCheck} when no configured key is presented.
 */
export function createApiKeyOwner(keys: readonly string[]): (authorization: string | undefined) => string {
  const match = createApiKeyMatcher(keys);
  const owners = keys.map((key) => createHash("sha256").update(`tributary-ws owner\0${key}`).digest("hex").slice(0, 32));
  return (authorization) => {
    if (keys.length === 0) throw new ServiceError("PUBLISHING_DISABLED");
    const index = match(authorization);
    if (index === undefined) throw new ServiceError("UNAUTHORIZED");
    return owners[index] as string;
  };
}
