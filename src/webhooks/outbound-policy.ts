import { BlockList, isIP } from "node:net";
import { normaliseAddress, parseAddressOrRange } from "../limits/client-address.js";

/**
 * Addresses a webhook may not reach unless allowed by name: private,
 * loopback, link-local (cloud metadata at 169.254.169.254 included),
 * carrier-grade NAT, multicast, reserved and unspecified ranges.
 */
const REFUSED_RANGES: ReadonlyArray<[string, number, "ipv4" | "ipv6"]> = [
  ["0.0.0.0", 8, "ipv4"],
  ["10.0.0.0", 8, "ipv4"],
  ["100.64.0.0", 10, "ipv4"],
  ["127.0.0.0", 8, "ipv4"],
  ["169.254.0.0", 16, "ipv4"],
  ["172.16.0.0", 12, "ipv4"],
  ["192.0.0.0", 24, "ipv4"],
  ["192.168.0.0", 16, "ipv4"],
  ["198.18.0.0", 15, "ipv4"],
  ["224.0.0.0", 3, "ipv4"],
  ["::", 128, "ipv6"],
  ["::1", 128, "ipv6"],
  ["fc00::", 7, "ipv6"],
  ["fe80::", 10, "ipv6"],
  ["ff00::", 8, "ipv6"],
  ["64:ff9b::", 96, "ipv6"],
];

const HOST_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/** Whether an entry of WEBHOOK_ALLOWED_HOSTS is a host name, an IP or a CIDR range. */
export function isAllowedHostEntry(entry: string): boolean {
  return parseAddressOrRange(entry) !== undefined || HOST_NAME.test(entry);
}

/** `::ffff:10.0.0.1` is 10.0.0.1 to the network. */
function unmapped(address: string): { address: string; family: "ipv4" | "ipv6" } {
  const normalised = normaliseAddress(address);
  return { address: normalised, family: isIP(normalised) === 6 ? "ipv6" : "ipv4" };
}

/**
 * Where webhooks may go. `https` only, and never to an internal address,
 * unless WEBHOOK_ALLOWED_HOSTS names the host (by name, IP or range). The
 * address check runs on every address a name resolves to, right before the
 * connection, so DNS cannot swap a public answer for an internal one later.
 */
export class OutboundPolicy {
  private readonly allowedNames = new Set<string>();
  private readonly allowedRanges = new BlockList();
  private readonly refused = new BlockList();

  constructor(allowedHosts: readonly string[]) {
    for (const entry of allowedHosts) {
      const range = parseAddressOrRange(entry);
      if (range === undefined) this.allowedNames.add(entry.toLowerCase());
      else if (range.prefix === undefined) this.allowedRanges.addAddress(range.address, range.family);
      else this.allowedRanges.addSubnet(range.address, range.prefix, range.family);
    }
    for (const [address, prefix, family] of REFUSED_RANGES) this.refused.addSubnet(address, prefix, family);
  }

  private isAllowedAddress(address: string): boolean {
    const plain = unmapped(address);
    return this.allowedRanges.check(plain.address, plain.family);
  }

  /** Why a host may be contacted over plain http or at an internal address: it is allowed by name or address. */
  private isAllowedHost(hostname: string): boolean {
    const bare = hostname.replace(/^\[|\]$/g, "").toLowerCase();
    return this.allowedNames.has(bare) || (isIP(bare) !== 0 && this.isAllowedAddress(bare));
  }

  /** Why a URL is refused, or undefined when it may be tried. */
  refuseUrl(url: URL): string | undefined {
    if (url.protocol !== "https:" && url.protocol !== "http:") return "the URL must be https";
    if (url.protocol === "http:" && !this.isAllowedHost(url.hostname)) {
      return "the URL must be https (http only for hosts in WEBHOOK_ALLOWED_HOSTS)";
    }
    if (url.username !== "" || url.password !== "") return "the URL must not carry credentials";
    const bare = url.hostname.replace(/^\[|\]$/g, "");
    if (isIP(bare) !== 0) return this.refuseAddress(url.hostname, bare);
    return undefined;
  }

  /** Why connecting to `address` (what `hostname` resolved to) is refused, or undefined. */
  refuseAddress(hostname: string, address: string): string | undefined {
    if (this.isAllowedHost(hostname) || this.isAllowedAddress(address)) return undefined;
    const plain = unmapped(address);
    if (this.refused.check(plain.address, plain.family)) {
      return `${hostname} resolves to ${address}, an internal address (allow it with WEBHOOK_ALLOWED_HOSTS)`;
    }
    return undefined;
  }
}
