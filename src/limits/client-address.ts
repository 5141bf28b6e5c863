import { BlockList, isIP } from "node:net";

/**
 * Works out which address a request really comes from. `X-Forwarded-For` is
 * believed only when the peer is a configured trusted proxy; otherwise any
 * client could name an address of its choosing and escape its per-address
 * limits. The header is read right to left, skipping trusted proxies, and
 * the first untrusted hop is the client.
 */
export class ClientAddressResolver {
  private readonly trusted = new BlockList();
  private readonly hasTrusted: boolean;

  /** @param trustedProxies IPv4/IPv6 addresses or CIDR ranges (`10.0.0.0/8`). */
  constructor(trustedProxies: readonly string[]) {
    for (const entry of trustedProxies) {
      const parsed = parseAddressOrRange(entry);
      if (parsed === undefined) throw new Error(`not an IP address or CIDR range: ${entry}`);
      if (parsed.prefix === undefined) this.trusted.addAddress(parsed.address, parsed.family);
      else this.trusted.addSubnet(parsed.address, parsed.prefix, parsed.family);
    }
    this.hasTrusted = trustedProxies.length > 0;
  }

  isTrusted(address: string): boolean {
    if (!this.hasTrusted) return false;
    const normalised = normaliseAddress(address);
    const family = isIP(normalised);
    if (family === 0) return false;
    return this.trusted.check(normalised, family === 6 ? "ipv6" : "ipv4");
  }

  /** The client's address, given the TCP peer and the request's `X-Forwarded-For` header. */
  resolve(peer: string | undefined, forwardedFor: string | string[] | undefined): string {
    let client = normaliseAddress(peer ?? "unknown");
    if (!this.isTrusted(client) || forwardedFor === undefined) return client;
    const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(",") : forwardedFor)
      .split(",")
      .map((hop) => hop.trim())
      .filter((hop) => hop.length > 0);
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = normaliseAddress(hops[i] as string);
      // Garbage in the header ends the walk: the last trusted hop vouches for nothing beyond it.
      if (isIP(hop) === 0) return client;
      client = hop;
      if (!this.isTrusted(hop)) return hop;
    }
    return client;
  }
}

/** `::ffff:1.2.3.4` and `1.2.3.4` are one client. */
export function normaliseAddress(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped?.[1] ?? address;
}

export function parseAddressOrRange(
  entry: string,
): { address: string; family: "ipv4" | "ipv6"; prefix?: number } | undefined {
  const [address = "", prefixText, extra] = entry.trim().split("/");
  if (extra !== undefined) return undefined;
  const version = isIP(address);
  if (version === 0) return undefined;
  const family = version === 6 ? "ipv6" : "ipv4";
  if (prefixText === undefined) return { address, family };
  if (!/^[0-9]{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (prefix > (version === 6 ? 128 : 32)) return undefined;
  return { address, family, prefix };
}
