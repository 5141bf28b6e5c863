import { InvalidArgumentError } from "commander";

/** Where the client commands find the service unless told otherwise. */
export const DEFAULT_URL = "http://localhost:8080";

export function defaultUrl(env: Record<string, string | undefined> = process.env): string {
  return env.TRIBUTARY_URL || DEFAULT_URL;
}

/** A commander parser for a whole number in [min, max]; its message names the rule broken. */
export function wholeNumber(min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    if (!/^[0-9]+$/.test(value)) throw new InvalidArgumentError("must be a whole number.");
    const number = Number(value);
    if (number < min || number > max) throw new InvalidArgumentError(`must be from ${min} to ${max}.`);
    return number;
  };
}

export function httpUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError("must be a URL such as http://localhost:8080.");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new InvalidArgumentError("must be an http or https URL.");
  return url.origin;
}
