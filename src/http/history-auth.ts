import { ServiceError } from "../errors.js";
import type { RefusalLog } from "../limits/refusal-log.js";

/** What history auth asks of the subscription authorizer; the gateway's own type, seen from here. */
export interface TokenAuthorizer {
  authorize(trackingId: string, tokens: { payload?: unknown }): Promise<{ ok: true } | { ok: false; message: string }>;
}

export interface HistoryAuthOptions {
  /** Which configured API key an Authorization header carries, if any. */
  identifyApiKey: (authorization: string | undefined) => number | undefined;
  authorizer: TokenAuthorizer;
  refusals: RefusalLog;
}

/** With subscription auth on, a history read needs a publisher's API key or a subscription token covering the tracking ID. */
export function createHistoryAuth(options: HistoryAuthOptions): (authorization: string | undefined, trackingId: string) => Promise<void> {
  return async (authorization, trackingId) => {
    if (options.identifyApiKey(authorization) !== undefined) return;
    const token = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "")?.[1];
    const verdict = await options.authorizer.authorize(trackingId, { payload: token });
    if (verdict.ok) return;
    options.refusals.refused("subscription_token", { trackingId, over: "http" }, `refused a history read: ${verdict.message}`);
    throw new ServiceError("UNAUTHORIZED", verdict.message);
  };
}
