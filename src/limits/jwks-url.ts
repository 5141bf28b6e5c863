import { isIP } from "node:net";

/**
 * Whether a JWKS URL may be fetched: https, or plain http to this very host
 * (a key sidecar on loopback), where nobody on the way could swap the keys.
 */
export function isAcceptableJwksUrl(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    return false;
  }
  if (url.protocol === "https:") return true;
  if (url.protocol !== "http:") return false;
  const host = url.hostname.replace(/^\[|\]$/g, "");
  return host === "localhost" || host === "::1" || (isIP(host) === 4 && host.startsWith("127."));
}
