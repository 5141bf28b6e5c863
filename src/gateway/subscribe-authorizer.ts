import { readFileSync } from "node:fs";
import { isAcceptableJwksUrl } from "../limits/jwks-url.js";
import { createLocalJWKSet, createRemoteJWKSet, errors, jwtVerify, type JSONWebKeySet, type JWSAlgorithm, type JWTVerifyGetKey } from "jose";

/** The tokens a subscribe may carry: one from the Socket.IO handshake (`auth.token`), one in the payload. */
export interface PresentedTokens {
  handshake?: unknown;
  payload?: unknown;
}

export type AuthorizationResult = { ok: true } | { ok: false; message: string };

/** Decides whether a subscriber may watch a tracking ID. The gateway asks; it never looks at tokens itself. */
export interface SubscribeAuthorizer {
  readonly enabled: boolean;
  authorize(trackingId: string, tokens: PresentedTokens): Promise<AuthorizationResult>;
}

/** The default: anyone may watch any tracking ID, as the public API's clients expect. */
export const openSubscriptions: SubscribeAuthorizer = {
  enabled: false,
  authorize: () => Promise.resolve({ ok: true }),
};

export interface JwtAuthorizerOptions {
  /** HS256 shared secret. */
  secret?: string;
  /** A JWKS: an http(s) URL, a file path, or the JSON itself. */
  jwks?: string;
  audience: string;
  issuer?: string;
}

// Asymmetric algorithms only for a JWKS: a public key must never double as an HMAC secret.
const JWKS_ALGORITHMS: JWSAlgorithm[] = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519"];

/** Where a `tid_prefix` may end: a prefix covers only what lies past one of these, never a longer neighbour. */
export const TID_PREFIX_SEPARATORS: readonly string[] = [":", "/"];

/**
 * Subscriber authorization by JWT. The token's claims say what it covers:
 * `tids` (a list of tracking IDs) and/or `tid_prefix` (the tracking IDs
 * below it, see {@link prefixCovers}). `exp` is required, `aud` must match,
 * `iss` too when configured.
 */
export function createJwtAuthorizer(options: JwtAuthorizerOptions): SubscribeAuthorizer {
  const { key, algorithms } = verificationKey(options);
  return {
    enabled: true,
    async authorize(trackingId, tokens) {
      // A token in the payload is the more specific one: it wins over the handshake's.
      const token = isToken(tokens.payload) ? tokens.payload : isToken(tokens.handshake) ? tokens.handshake : undefined;
      if (token === undefined) {
        return { ok: false, message: "A subscription token is required: auth.token in the handshake or token in the payload" };
      }
      let claims;
      try {
        ({ payload: claims } = await verify(token, key, {
          algorithms,
          audience: options.audience,
          requiredClaims: ["exp"],
          ...(options.issuer === undefined ? {} : { issuer: options.issuer }),
        }));
      } catch (error) {
        return { ok: false, message: refusalText(error) };
      }
      return covers(claims, trackingId)
        ? { ok: true }
        : { ok: false, message: `The subscription token does not cover trackingId: ${trackingId}` };
    },
  };
}

type Key = Uint8Array | JWTVerifyGetKey;

function verificationKey(options: JwtAuthorizerOptions): { key: Key; algorithms: JWSAlgorithm[] } {
  if (options.secret !== undefined) return { key: new TextEncoder().encode(options.secret), algorithms: ["HS256"] };
  const source = options.jwks?.trim();
  if (source === undefined || source === "") throw new Error("a JWT secret or a JWKS is required");
  // Keys fetched over plain http could be swapped on the way, and every token with them; loopback has no way.
  if (/^https?:\/\//i.test(source) && !isAcceptableJwksUrl(source)) throw new Error("a JWKS URL must be https:// (or http:// to loopback)");
  if (/^https?:\/\//i.test(source)) return { key: createRemoteJWKSet(new URL(source)), algorithms: JWKS_ALGORITHMS };
  const json = source.startsWith("{") ? source : readFileSync(source, "utf8");
  return { key: createLocalJWKSet(JSON.parse(json) as JSONWebKeySet), algorithms: JWKS_ALGORITHMS };
}

// jwtVerify is overloaded on the key's type; one call site keeps the union.
function verify(token: string, key: Key, options: Parameters<typeof jwtVerify>[2]) {
  return typeof key === "function" ? jwtVerify(token, key, options) : jwtVerify(token, key, options);
}

function isToken(value: unknown): value is string {
  // A compact JWS is three base64url parts; anything longer than 8 KiB is not a token we minted.
  return typeof value === "string" && value.length > 0 && value.length <= 8192;
}

function covers(claims: Record<string, unknown>, trackingId: string): boolean {
  const { tids, tid_prefix: prefix } = claims;
  if (Array.isArray(tids) && tids.some((tid) => tid === trackingId)) return true;
  return typeof prefix === "string" && prefixCovers(prefix, trackingId);
}

/**
 * Whether `tid_prefix` covers a tracking ID: the ID starts with the prefix,
 * is longer, and the prefix ends at a separator (`merchant-42:` covers
 * `merchant-42:order-1`; `merchant-42` covers `merchant-42:order-1` and
 * `merchant-42/x`). So `merchant-42` never covers `merchant-420:order-1`.
 */
export function prefixCovers(prefix: string, trackingId: string): boolean {
  if (prefix.length === 0 || trackingId.length <= prefix.length || !trackingId.startsWith(prefix)) return false;
  return TID_PREFIX_SEPARATORS.includes(prefix.at(-1) ?? "") || TID_PREFIX_SEPARATORS.includes(trackingId[prefix.length] ?? "");
}

/** Says what was wrong with a token without echoing it or any key material. */
function refusalText(error: unknown): string {
  if (error instanceof errors.JWTExpired) return "The subscription token has expired";
  if (error instanceof errors.JWTClaimValidationFailed) return `The subscription token's ${error.claim} claim is not accepted`;
  return "The subscription token is invalid";
}
