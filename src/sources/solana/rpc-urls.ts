/**
 * The pub/sub URL that goes with an RPC URL when none is configured.
 *
 * Same host, ws(s) scheme. An explicit port is incremented by one, because
 * that is how a Solana validator lays out its ports (8899 HTTP, 8900 pub/sub),
 * and hosted endpoints, which serve both on one port, rarely name a port.
 */
export function deriveWebSocketUrl(rpcUrl: string): string {
  const url = new URL(rpcUrl);
  if (url.protocol === "https:") url.protocol = "wss:";
  else if (url.protocol === "http:") url.protocol = "ws:";
  else throw new TypeError(`Expected an http(s) RPC URL, got \`${rpcUrl}\``);
  if (url.port !== "") url.port = String(Number(url.port) + 1);
  return url.toString();
}
