import type { Config } from "../config.js";
import { createJwtAuthorizer, openSubscriptions, type SubscribeAuthorizer } from "./subscribe-authorizer.js";

/** SUBSCRIBE_AUTH=jwt checks subscription tokens against a secret or a JWKS; `none` lets anyone watch, as the public API does. */
export function openAuthorizer(config: Config): SubscribeAuthorizer {
  if (config.SUBSCRIBE_AUTH !== "jwt") return openSubscriptions;
  return createJwtAuthorizer({
    ...(config.SUBSCRIBE_JWT_SECRET === undefined ? {} : { secret: config.SUBSCRIBE_JWT_SECRET }),
    ...(config.SUBSCRIBE_JWKS_URL === undefined ? {} : { jwks: config.SUBSCRIBE_JWKS_URL }),
    audience: config.SUBSCRIBE_JWT_AUDIENCE ?? "",
    ...(config.SUBSCRIBE_JWT_ISSUER === undefined ? {} : { issuer: config.SUBSCRIBE_JWT_ISSUER }),
  });
}
