import { z } from "zod";
import { ApiError } from "./errors.js";

/**
 * `path: message` for the first issue, the path rooted at `root` when given (e.g. `data.schema.fields.2.name`);
 * an issue about the whole value is `value: message` (or `<root>: message`).
 */
export function describeFirstIssue(error: z.ZodError, root?: string): string {
  const issue = error.issues[0];
  const path = [...(root === undefined ? [] : [root]), ...(issue?.path.map(String) ?? [])];
  if (!issue) return `${root ?? "value"}: invalid`;
  return `${path.length > 0 ? path.join(".") : "value"}: ${issue.message}`;
}

/**
 * Parses a request's input at a service boundary: the value, or `code` with `Invalid <what>: <first issue>.`
 * (`what` defaults to the request body or a parameter). Every service and sidecar validates through this.
 */
export function parseOrThrow<T>(schema: z.ZodType<T>, value: unknown, code: "InvalidInput" | "InvalidParameter", what?: string): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new ApiError(code, `Invalid ${what ?? (code === "InvalidInput" ? "request body" : "parameter")}: ${describeFirstIssue(result.error)}.`);
  return result.data;
}

/** A schema as JSON Schema for the OpenAPI documents the services serve: one rendering for all of them. */
export function toJsonSchema(schema: z.ZodType): unknown {
  return z.toJSONSchema(schema, { target: "draft-2020-12", io: "output", unrepresentable: "any" });
}
