import { isIP } from "node:net";

/**
 * The key per-address limits count by. An IPv4 address is one client; an
 * IPv6 client usually holds a whole /64 (often more), so counting exact IPv6
 * addresses would hand it an unlimited supply of fresh ones. IPv6 addresses
 * are therefore grouped by their first `ipv6PrefixLength` bits.
 */
export function addressGroup(address: string, ipv6PrefixLength: number): string {
  if (isIP(address) !== 6 || ipv6PrefixLength >= 128) return address;
  const hextets = expandIpv6(address);
  if (hextets === undefined) return address;
  const kept = hextets.map((hextet, index) => {
    const bitsBefore = index * 16;
    if (bitsBefore >= ipv6PrefixLength) return 0;
    const keepBits = Math.min(16, ipv6PrefixLength - bitsBefore);
    return hextet & ((0xffff << (16 - keepBits)) & 0xffff);
  });
  return `${kept.map((hextet) => hextet.toString(16)).join(":")}/${ipv6PrefixLength}`;
}

/** The eight 16-bit groups of an IPv6 address (`::` expanded, a trailing IPv4 part converted); undefined if malformed. */
export function expandIpv6(address: string): number[] | undefined {
  const withoutZone = address.split("%")[0] ?? "";
  let text = withoutZone;
  const ipv4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (ipv4 !== null) {
    const [a, b, c, d] = ipv4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, ipv4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const parse = (part: string | undefined) => (part === undefined || part === "" ? [] : part.split(":").map((group) => parseInt(group, 16)));
  const head = parse(halves[0]);
  const tail = parse(halves[1]);
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 0) return undefined;
  const hextets = [...head, ...Array<number>(halves.length === 1 ? 0 : missing).fill(0), ...tail];
  return hextets.every((hextet) => Number.isInteger(hextet) && hextet >= 0 && hextet <= 0xffff) ? hextets : undefined;
}
