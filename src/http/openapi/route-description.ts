import type { z } from "zod";

/** One documented answer of a route: its meaning and, for JSON, the zod schema its body follows. */
export interface ResponseDescription {
  description: string;
  schema?: z.ZodType;
  /** Default `application/json`. */
  contentType?: string;
}

/**
 * A route's entry in /openapi.json, registered next to the route as
 * `config: { openapi: … }`; the schemas are the ones the route validates with.
 */
export interface RouteDescription {
  operationId: string;
  summary: string;
  description?: string;
  tags: readonly string[];
  /** The route's path parameters (`:id` in the route, `{id}` in the document); each is required. */
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** `required`: an API key; `optional`: a bearer token only some configurations ask for. */
  auth?: "required" | "optional";
  responses: Readonly<Record<number, ResponseDescription>>;
}

declare module "fastify" {
  interface FastifyContextConfig {
    openapi?: RouteDescription;
  }
}
