import { existsSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Where DuckDB's OpenSSL crypto comes from. Statically linked, DuckDB decrypts Parquet with its bundled mbedtls, which
 * is sound but about a third slower than reading plaintext here; loading its `httpfs` extension switches the same
 * reader to OpenSSL's AES-GCM (AES-NI), as fast as plaintext (docs/parquet-encryption.md). The extension file is
 * DuckDB's own build, and DuckDB checks its signature on LOAD (the engine never allows unsigned extensions), so a
 * copy from any source is either DuckDB's or refused.
 *
 * `CLEANROOM_DUCKDB_CRYPTO_EXTENSION` names the file, or `none` for mbedtls; unset, the project's Python venv
 * (`.cache/python`, where `npm run setup` installs the `duckdb-extension-httpfs` wheel from PyPI) is searched upwards
 * from this package for the build matching `duckdbVersion` ("v1.5.5"). Undefined: decrypt with mbedtls.
 */
export function cryptoExtensionPath(duckdbVersion: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const configured = env.CLEANROOM_DUCKDB_CRYPTO_EXTENSION;
  if (configured === "none") return undefined;
  // A configured path is used as given: should it be missing or not DuckDB's, the LOAD fails and so does the run.
  if (configured) return configured;
  // Every run creates an instance, so the search of the file system happens once per process and version.
  if (!discovered.has(duckdbVersion)) discovered.set(duckdbVersion, discover(duckdbVersion));
  return discovered.get(duckdbVersion);
}

const discovered = new Map<string, string | undefined>();

function discover(duckdbVersion: string): string | undefined {
  let directory = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const found = inVenv(join(directory, ".cache", "python"), duckdbVersion);
    if (found) return found;
    const parent = dirname(directory);
    if (parent === directory) return undefined;
    directory = parent;
  }
}

function inVenv(venv: string, duckdbVersion: string): string | undefined {
  const lib = join(venv, "lib");
  if (!existsSync(lib)) return undefined;
  for (const python of readdirSync(lib)) {
    const file = join(lib, python, "site-packages", "duckdb_extension_httpfs", "extensions", duckdbVersion, "httpfs.duckdb_extension");
    if (existsSync(file)) return file;
  }
  return undefined;
}
