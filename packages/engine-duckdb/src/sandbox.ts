import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import { EngineError } from "./errors.js";
import { stringList } from "./sql.js";
import type { JobLimits } from "./job.js";

/**
 * A job's own DuckDB: in memory, so nothing outlives the run; bounded by the memory limit, beyond which DuckDB
 * spills to the temp directory. No extension is ever installed or loaded (none can be fetched, and the statically
 * linked ones — parquet, json, icu, core_functions — are all the job needs), and secrets never touch disk.
 */
export async function createJobInstance(limits: JobLimits): Promise<DuckDBInstance> {
  const options: Record<string, string> = {
    memory_limit: limits.memoryLimit,
    temp_directory: limits.tempDirectory,
    autoinstall_known_extensions: "false",
    autoload_known_extensions: "false",
    allow_community_extensions: "false",
    allow_unsigned_extensions: "false",
    allow_persistent_secrets: "false",
    // DuckDB 1.5.6 decrypts with the wrong key when a join pushes its filter into the scan of an encrypted Parquet
    // file whose key differs from the other side's — every two-party join here — and fails the GCM tag check
    // (docs/parquet-encryption.md). Without that optimizer both sides are read with their own keys.
    disabled_optimizers: "join_filter_pushdown",
  };
  if (limits.threads !== undefined) options.threads = String(limits.threads);
  return DuckDBInstance.create(":memory:", options);
}

/**
 * Closes the instance to the outside world once the inputs are registered: no file but the inputs' own, and no URL,
 * database or extension is reachable afterwards, and locking the configuration stops any statement from turning
 * that back on. Both are
 * read back, so a DuckDB that ignored either setting fails the run instead of running unsandboxed.
 */
export async function sealInstance(connection: DuckDBConnection, inputFiles: readonly string[] = []): Promise<void> {
  // The inputs' own files stay readable (their views read them lazily); the statement guard keeps segments from
  // naming any file at all, so this only bounds what a statement slipping past it could reach.
  if (inputFiles.length > 0) await connection.run(`SET allowed_paths = ${stringList(inputFiles)}`);
  await connection.run("SET enable_external_access = false");
  await connection.run("SET lock_configuration = true");
  const reader = await connection.runAndReadAll(
    "SELECT current_setting('enable_external_access')::VARCHAR, current_setting('lock_configuration')::VARCHAR",
  );
  const [external, locked] = reader.getRowsJS()[0] ?? [];
  if (external !== "false" || locked !== "true") {
    throw new EngineError("SandboxFailed", "DuckDB did not disable external access and lock its configuration");
  }
}
