// Shared by the tests of this package and of the engine: reads a Parquet file the way the engine does (no
// extensions, the key registered, read_parquet with the footer key), to prove what the writers wrote.
import { DuckDBInstance } from "@duckdb/node-api";

/** Rows of `SELECT <select> FROM read_parquet(path) <rest>`, as JSON-friendly objects. */
export async function readParquetWithDuckDb(path: string, key: Uint8Array | undefined, select = "*", rest = ""): Promise<Array<Record<string, unknown>>> {
  const instance = await DuckDBInstance.create(":memory:", { autoinstall_known_extensions: "false", autoload_known_extensions: "false" });
  const connection = await instance.connect();
  try {
    if (key) await connection.run(`PRAGMA add_parquet_key('k', '${Buffer.from(key).toString("base64")}')`);
    const options = key ? ", encryption_config = {footer_key: 'k'}" : "";
    return (await connection.runAndReadAll(`SELECT ${select} FROM read_parquet('${path}'${options}) ${rest}`)).getRowObjectsJson();
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
