import { expect } from "vitest";
import { ServiceError } from "@cleanroom/governance-client";

/** Awaits a call that must fail with this HTTP status and error code; returns the error. */
export async function expectServiceError(promise: Promise<unknown>, status: number, code: string): Promise<ServiceError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected ${status} ${code}`).toBeInstanceOf(ServiceError);
  expect({ status: (error as ServiceError).status, code: (error as ServiceError).code }).toEqual({ status, code });
  return error as ServiceError;
}
