import type { FastifyInstance } from "fastify";
import { ServiceError } from "../errors.js";

const OPEN_BRACKET = 0x5b;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACKET = 0x5d;
const CLOSE_BRACE = 0x7d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * True when the JSON text nests arrays and objects deeper than `maxDepth`.
 * One pass over the characters, stopping at the first one too deep: a body
 * of a million `[` is refused after `maxDepth + 1` of them, where JSON.parse
 * would build a million arrays first. Brackets inside strings do not count.
 */
export function exceedsJsonDepth(text: string, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (inString) {
      if (code === BACKSLASH) i++;
      else if (code === QUOTE) inString = false;
    } else if (code === QUOTE) inString = true;
    else if (code === OPEN_BRACKET || code === OPEN_BRACE) {
      if (++depth > maxDepth) return true;
    } else if (code === CLOSE_BRACKET || code === CLOSE_BRACE) depth--;
  }
  return false;
}

/**
 * Replaces Fastify's JSON body parser with one that refuses deep nesting
 * before parsing (same prototype-poisoning rules otherwise), and drops the
 * text/plain parser: every body this API takes is JSON, and any other type
 * is answered 415 rather than a 400 from a validator that got a string.
 */
export function registerBoundedJsonParser(app: FastifyInstance, maxDepth: number, onRefused: () => void): void {
  const parse = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser(["application/json", "text/plain"]);
  app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
    if (exceedsJsonDepth(body as string, maxDepth)) {
      onRefused();
      done(new ServiceError("INVALID_BODY", `The JSON body nests deeper than ${maxDepth} levels`), undefined);
      return;
    }
    parse(request, body as string, done);
  });
}
