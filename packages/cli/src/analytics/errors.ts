import { CommanderError } from "commander";
import type { CommandContext } from "../context.js";

/**
 * A bad argument found by a command itself rather than by commander (an unknown field in --allowed-fields, a
 * missing input file, a location without credentials): exit code 2 and one line, like commander's usage errors.
 */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** The zod issues of a schema check as one line, each path renamed to the flag it came from when known. */
export function describeIssues(issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>, flags: ReadonlyArray<[prefix: string, flag: string]> = []): string {
  return issues
    .map((issue) => {
      const path = issue.path.map(String).join(".");
      const flag = flags.find(([prefix]) => path === prefix || path.startsWith(`${prefix}.`));
      return `${flag ? `${flag[1]} (${path})` : path || "value"}: ${issue.message}`;
    })
    .join("; ");
}

/** Errors of the libraries the analytics commands use, as one line with their code (run-cli prints the message). */
function described(error: unknown): unknown {
  const e = error as { name?: string; code?: unknown; message?: string };
  if (e.name === "StorageError") return new Error(`${String(e.code)}: ${e.message ?? ""}`, { cause: error });
  if (e.name === "ParquetInputError") return new Error(`the input file does not match the declared fields: ${e.message ?? ""}`, { cause: error });
  if (e.name === "ApiError") return new Error(`${String(e.code)}: ${e.message ?? ""}`, { cause: error });
  return error;
}

/**
 * Wraps an analytics command's action: a UsageError prints `error: <message>` and exits 2 (a CommanderError, which
 * run-cli turns into exit code 2 without printing anything more); storage and Parquet errors get their code.
 */
export function guarded<O>(action: (ctx: CommandContext, options: O) => Promise<void>): (ctx: CommandContext, options: O) => Promise<void> {
  return async (ctx, options) => {
    try {
      await action(ctx, options);
    } catch (error) {
      if (error instanceof UsageError) {
        ctx.io.stderr(`error: ${error.message}\n`);
        throw new CommanderError(2, "cleanroom.usageError", error.message);
      }
      throw described(error);
    }
  };
}
