import { DuckDBInstance, version, type DuckDBConnection } from "@duckdb/node-api";
import { cryptoExtensionPath } from "./crypto-extension.js";
import { EngineError, messageOf } from "./errors.js";
import { stringList, stringLiteral } from "./sql.js";
import type { JobLimits } from "./job.js";

/**
 * A job's own DuckDB: in memory, so nothing outlives the run; bounded by the memory limit, beyond which DuckDB
 * spills to the temp directory. Nothing is ever installed or fetched; the one extension loaded is DuckDB's signed
 * httpfs, from a local file, for its OpenSSL crypto (crypto-extension.ts), and secrets never touch disk.
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
  };
  if (limits.threads !== undefined) options.threads = String(limits.threads);
  const instance = await DuckDBInstance.create(":memory:", options);
  try {
    await loadCryptoExtension(instance);
  } catch (error) {
    instance.closeSync();
    throw error;
  }
  return instance;
}

/** Which AES-GCM the instance decrypts Parquet with. */
export type ParquetCrypto = "openssl" | "mbedtls";

async function loadCryptoExtension(instance: DuckDBInstance): Promise<void> {
  const connection = await instance.connect();
  try {
    const path = cryptoExtensionPath(version());
    if (path === undefined) return;
    try {
      await connection.run(`LOAD ${stringLiteral(path)}`);
    } catch (error) {
      // Fail closed: a configured or found extension that does not load (missing, another version, a bad signature)
      // is a broken installation, not a reason to run on something else than what the operator set up.
      throw new EngineError("SandboxFailed", `DuckDB did not load its crypto extension ${path}: ${messageOf(error)}`, { cause: error });
    }
  } finally {
    connection.closeSync();
  }
}

/** Whether the instance decrypts with OpenSSL (its httpfs extension is loaded) or its bundled mbedtls. */
export async function parquetCryptoOf(connection: DuckDBConnection): Promise<ParquetCrypto> {
  const reader = await connection.runAndReadAll("SELECT count(*) FROM duckdb_extensions() WHERE extension_name = 'httpfs' AND loaded");
  return Number(reader.getRowsJS()[0]?.[0]) > 0 ? "openssl" : "mbedtls";
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
