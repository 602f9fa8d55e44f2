import { errorBody } from "@bump/contracts";
import { type ZodType, z } from "zod";

/** One answer of a route in the OpenAPI document. */
export interface ResponseSpec {
  description: string;
  /** Body schema (JSON); none for an empty body. */
  schema?: ZodType;
  /** Response headers by name, e.g. `Retry-After`. */
  headers?: Record<string, string>;
}

/** What a route file declares about one of its routes; the document is generated from these. */
export interface RouteSpec {
  method: "get" | "post" | "put" | "patch" | "delete";
  /** OpenAPI path, parameters in braces: `/v1/entities/{id}`. */
  path: string;
  summary: string;
  tags?: string[];
  /** Roles the caller's token must hold, if any (documented only; enforce with `requireRole`). */
  roles?: string[];
  /** False for public routes. Default true (bearer JWT). */
  auth?: boolean;
  /** A `z.object` of the query parameters. */
  query?: ZodType;
  /** A `z.object` of the path parameters. */
  params?: ZodType;
  /** JSON request body. */
  body?: ZodType;
  /** Answers by status; the error answers of the contract are added for every route. */
  responses: Record<number, ResponseSpec>;
}

type JsonSchema = Record<string, unknown>;

function schemaOf(schema: ZodType, io: "input" | "output"): JsonSchema {
  const out = z.toJSONSchema(schema, { io, unrepresentable: "any", target: "draft-2020-12" }) as JsonSchema;
  delete out.$schema;
  return out;
}

function parameters(schema: ZodType | undefined, where: "query" | "path"): JsonSchema[] {
  if (!(schema instanceof z.ZodObject)) return [];
  return Object.entries(schema.shape as Record<string, ZodType>).map(([name, field]) => ({
    name,
    in: where,
    required: where === "path" || !field.safeParse(undefined).success,
    schema: schemaOf(field, "input"),
  }));
}

const errorRef = { $ref: "#/components/schemas/Error" };
const retryAfter = { description: "seconds to wait before retrying", schema: { type: "integer" } };

/**
 * Collects the route specs of every route file and renders them as one OpenAPI 3.1 document. Route files call
 * {@link OpenApiRegistry.add} when they build their sub-app, so `/openapi.json` always lists what is mounted.
 */
export class OpenApiRegistry {
  private readonly routes: RouteSpec[] = [];

  /** Declares a route. */
  add(spec: RouteSpec): void {
    this.routes.push(spec);
  }

  /** The routes declared so far, in order. */
  list(): readonly RouteSpec[] {
    return this.routes;
  }

  /** The OpenAPI 3.1 document of every declared route. */
  document(info: { title: string; version: string }): JsonSchema {
    const paths: Record<string, Record<string, unknown>> = {};
    for (const r of this.routes) {
      const responses: Record<string, unknown> = {};
      for (const [status, res] of Object.entries(r.responses)) {
        responses[status] = {
          description: res.description,
          ...(res.schema && { content: { "application/json": { schema: schemaOf(res.schema, "output") } } }),
          ...(res.headers && {
            headers: Object.fromEntries(
              Object.entries(res.headers).map(([h, d]) => [h, { description: d, schema: { type: "string" } }]),
            ),
          }),
        };
      }
      const error = (description: string) => ({ description, content: { "application/json": { schema: errorRef } } });
      if (r.body || r.query || r.params) responses["400"] ??= error("invalid_request: field problems in details");
      if (r.auth !== false) responses["401"] ??= error("unauthorized: missing, bad or expired token");
      if (r.roles?.length) responses["403"] ??= error("forbidden: the token lacks a role");
      if (r.body) responses["413"] ??= error("payload_too_large: body over 1 MiB");
      if (r.method !== "get") {
        responses["503"] ??= {
          ...error("overloaded: the bus lags or is unreachable"),
          headers: { "Retry-After": retryAfter },
        };
      }
      responses["500"] ??= error("internal");
      const op: Record<string, unknown> = {
        summary: r.summary,
        ...(r.tags && { tags: r.tags }),
        ...(r.auth !== false && { security: [{ bearer: [] }] }),
        ...(r.roles?.length && { "x-roles": r.roles }),
        parameters: [...parameters(r.params, "path"), ...parameters(r.query, "query")],
        ...(r.body && {
          requestBody: { required: true, content: { "application/json": { schema: schemaOf(r.body, "input") } } },
        }),
        responses,
      };
      paths[r.path] ??= {};
      (paths[r.path] as Record<string, unknown>)[r.method] = op;
    }
    return {
      openapi: "3.1.0",
      info,
      paths,
      components: {
        securitySchemes: { bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" } },
        schemas: { Error: schemaOf(errorBody, "output") },
      },
    };
  }
}
