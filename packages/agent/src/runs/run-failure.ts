import { EngineError } from "@cleanroom/engine-duckdb";
import { ServiceError } from "@cleanroom/governance-client";
import { ApiError, ERROR_CATALOGUE, type ErrorCode } from "@cleanroom/protocol";
import { StorageError } from "@cleanroom/storage";

/** A failure of the agent's own part of a run (resolving keys and storage), with a code for the run's status. */
export class RunFailure extends Error {
  override readonly name = "RunFailure";
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The code and message a failed run reports. Every layer's errors carry a code a caller can act on (engine,
 * storage, governance, the agent's own checks); anything else is an unexpected failure of the agent itself.
 */
export function describeFailure(error: unknown): { code: string; message: string } {
  if (error instanceof RunFailure || error instanceof EngineError || error instanceof StorageError || error instanceof ApiError || error instanceof ServiceError) {
    return { code: error.code, message: error.message };
  }
  return { code: "RunFailed", message: `The run failed unexpectedly: ${error instanceof Error ? error.message : String(error)}` };
}

/** A failure as an HTTP answer (dry runs): catalogued codes keep their status, others become JobResolutionFailed. */
export function asApiError(error: unknown): ApiError | ServiceError {
  if (error instanceof ApiError || error instanceof ServiceError) return error;
  const { code, message } = describeFailure(error);
  if (code in ERROR_CATALOGUE) return new ApiError(code as ErrorCode, message);
  return new ApiError("JobResolutionFailed", `${code}: ${message}`);
}
