import { z } from "zod";
import type { RouteDescription } from "./route-description.js";

export interface DescribedRoute {
  method: string;
  path: string;
  description: RouteDescription;
}

export interface ApiInfo {
  title: string;
  version: string;
  description: string;
}

type JsonSchema = Record<string, unknown>;

export interface OpenApiParameter {
  name: string;
  in: "query";
  required: boolean;
  description?: string;
  schema: JsonSchema;
}

export interface OpenApiOperation {
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  parameters?: OpenApiParameter[];
  requestBody?: { required: true; content: Record<string, { schema: JsonSchema }> };
  security?: Array<Record<string, string[]>>;
  responses: Record<string, { description: string; content?: Record<string, { schema: JsonSchema }> }>;
}

export interface OpenApiDocument {
  openapi: "3.1.0";
  info: ApiInfo;
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: Record<string, unknown>;
}

/** OpenAPI 3.1 uses JSON Schema 2020-12 as it is, so zod's output goes in unchanged but for `$schema`. */
function jsonSchema(schema: z.ZodType, io: "input" | "output"): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, target: "draft-2020-12", unrepresentable: "any" });
  return rest;
}

function operation(route: DescribedRoute): OpenApiOperation {
  const { description } = route;
  const parameters = Object.entries(description.query?.shape ?? {}).map(([name, field]): OpenApiParameter => {
    const schema = jsonSchema(field as z.ZodType, "input");
    const { description: text, ...rest } = schema;
    return {
      name,
      in: "query",
      required: !(field as z.ZodType).safeParse(undefined).success,
      ...(typeof text === "string" ? { description: text } : {}),
      schema: rest,
    };
  });
  const responses = Object.fromEntries(
    Object.entries(description.responses).map(([status, response]) => [
      status,
      {
        description: response.description,
        ...(response.schema === undefined
          ? {}
          : { content: { [response.contentType ?? "application/json"]: { schema: jsonSchema(response.schema, "output") } } }),
      },
    ]),
  );
  return {
    operationId: description.operationId,
    summary: description.summary,
    ...(description.description === undefined ? {} : { description: description.description }),
    tags: [...description.tags],
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(description.body === undefined
      ? {}
      : { requestBody: { required: true, content: { "application/json": { schema: jsonSchema(description.body, "input") } } } }),
    ...(description.auth === "required" ? { security: [{ bearer: [] }] } : {}),
    ...(description.auth === "optional" ? { security: [{}, { bearer: [] }] } : {}),
    responses,
  };
}

/** The OpenAPI 3.1 document of the described routes, in path order. */
export function openApiDocument(info: ApiInfo, routes: readonly DescribedRoute[]): OpenApiDocument {
  const paths: OpenApiDocument["paths"] = {};
  for (const route of [...routes].sort((a, b) => a.path.localeCompare(b.path))) {
    (paths[route.path] ??= {})[route.method.toLowerCase()] = operation(route);
  }
  return {
    openapi: "3.1.0",
    info,
    paths,
    components: {
      securitySchemes: {
        bearer: {
          type: "http",
          scheme: "bearer",
          description: "An API key from TRIBUTARY_API_KEYS; for reading history with SUBSCRIBE_AUTH=jwt, also a subscription token",
        },
      },
    },
  };
}
