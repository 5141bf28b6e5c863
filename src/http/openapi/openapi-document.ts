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
  in: "path" | "query";
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

function parameters(shape: Record<string, unknown>, location: OpenApiParameter["in"]): OpenApiParameter[] {
  return Object.entries(shape).map(([name, field]): OpenApiParameter => {
    const schema = jsonSchema(field as z.ZodType, "input");
    const { description: text, ...rest } = schema;
    return {
      name,
      in: location,
      // OpenAPI requires every path parameter; a query parameter is required when the schema refuses its absence.
      required: location === "path" || !(field as z.ZodType).safeParse(undefined).success,
      ...(typeof text === "string" ? { description: text } : {}),
      schema: rest,
    };
  });
}

/** Fastify's `/v1/webhooks/:id` is OpenAPI's `/v1/webhooks/{id}`. */
export function openApiPath(fastifyPath: string): string {
  return fastifyPath.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, "{$1}");
}

function operation(route: DescribedRoute): OpenApiOperation {
  const { description } = route;
  const pathNames = [...openApiPath(route.path).matchAll(/\{([^}]+)\}/g)].map((match) => match[1]);
  const described = Object.keys(description.params?.shape ?? {});
  if ([...pathNames].sort().join(",") !== [...described].sort().join(",")) {
    // A path parameter without a description (or one described but absent) would make an invalid document.
    throw new Error(`${route.method} ${route.path}: path parameters ${pathNames.join(", ")} but params describes ${described.join(", ")}`);
  }
  const allParameters = [
    ...parameters(description.params?.shape ?? {}, "path"),
    ...parameters(description.query?.shape ?? {}, "query"),
  ];
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
    ...(allParameters.length > 0 ? { parameters: allParameters } : {}),
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
  for (const route of [...routes].sort((a, b) => openApiPath(a.path).localeCompare(openApiPath(b.path)))) {
    (paths[openApiPath(route.path)] ??= {})[route.method.toLowerCase()] = operation(route);
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
