import type { DuckDBConnection, DuckDBInstance, Json } from "@duckdb/node-api";
import type { DatasetFormat } from "@cleanroom/protocol";
import type { ObjectStore, StoredObject } from "@cleanroom/storage";

// Reading a run's results on the sink owner's machine: which objects are the run's, and their rows, decrypted by
// DuckDB with the owner's key (the same reader, profile and checks as the engine's: docs/parquet-encryption.md).

/** Rows shown in a table before the rest is only counted. */
export const TABLE_ROW_LIMIT = 200;

const AES_TAG_FAILURE = "Computed AES tag differs from read AES tag";

function literal(text: string): string {
  if (text.includes("\0")) throw new Error("a path must not contain NUL");
  return `'${text.replaceAll("'", "''")}'`;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Whether a key is a data file of the format (readers skip names starting with '.' or '_'). */
export function isResultFile(key: string, format: DatasetFormat): boolean {
  const name = key.split("/").at(-1) ?? "";
  return name.endsWith(`.${format}`) && !name.startsWith(".") && !name.startsWith("_");
}

/**
 * The run's objects in a sink found by listing `<contractId>/`: those under `<contractId>/<YYYY-MM-DD>/<runId>/`.
 * A run writes under one day; if several days hold the run id (a reused id), the latest is taken and said so.
 */
export async function findRunObjects(
  store: ObjectStore,
  contractId: string,
  runId: string,
  format: DatasetFormat,
): Promise<{ folder: string; objects: StoredObject[]; otherDays: string[] }> {
  const pattern = new RegExp(`^${escapeRegExp(contractId)}/(\\d{4}-\\d{2}-\\d{2})/${escapeRegExp(runId)}/.+$`);
  const byDay = new Map<string, StoredObject[]>();
  try {
    for await (const object of store.list(`${contractId}/`)) {
      const day = pattern.exec(object.key)?.[1];
      if (day === undefined || !isResultFile(object.key, format)) continue;
      byDay.set(day, [...(byDay.get(day) ?? []), object]);
    }
  } catch (error) {
    if ((error as { code?: string }).code !== "StorageNotFound") throw error;
  }
  const days = [...byDay.keys()].sort();
  const latest = days.at(-1);
  if (latest === undefined) throw new Error(`No results of run ${runId} in ${store.url}: nothing under ${contractId}/<YYYY-MM-DD>/${runId}/ (has the run completed? cleanroom query status --job-id ${runId})`);
  return { folder: `${contractId}/${latest}/${runId}`, objects: byDay.get(latest) ?? [], otherDays: days.slice(0, -1) };
}

/** DuckDB over downloaded result files: no extensions, the key registered under a name only this reader uses. */
export class ResultReader {
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
    private readonly format: DatasetFormat,
    private readonly encrypted: boolean,
  ) {}

  static async open(format: DatasetFormat, key: Buffer | undefined): Promise<ResultReader> {
    const { DuckDBInstance } = await import("@duckdb/node-api");
    const instance = await DuckDBInstance.create(":memory:", {
      autoinstall_known_extensions: "false",
      autoload_known_extensions: "false",
      allow_community_extensions: "false",
      allow_persistent_secrets: "false",
    });
    const connection = await instance.connect();
    try {
      // Base64 of exactly 32 bytes: DuckDB would take a 16-, 24- or 32-character string as raw key bytes.
      if (key !== undefined) await connection.run(`PRAGMA add_parquet_key('result_key', ${literal(key.toString("base64"))})`);
    } catch (error) {
      connection.closeSync();
      instance.closeSync();
      throw error;
    }
    return new ResultReader(instance, connection, format, key !== undefined);
  }

  private source(files: readonly string[]): string {
    const list = `[${files.map(literal).join(", ")}]`;
    switch (this.format) {
      case "parquet":
        return `read_parquet(${list}${this.encrypted ? ", encryption_config = {footer_key: 'result_key'}" : ""})`;
      case "csv":
        return `read_csv(${list}, header = true)`;
      case "json":
        return `read_json(${list}, format = 'newline_delimited')`;
    }
  }

  private async guard<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if ((error as Error).message?.includes(AES_TAG_FAILURE)) {
        throw new Error("The results do not decrypt with this profile's key for the sink: they were altered, or written under another key.", { cause: error });
      }
      throw error;
    }
  }

  async count(files: readonly string[]): Promise<number> {
    return this.guard(async () => {
      const reader = await this.connection.runAndReadAll(`SELECT count(*) FROM ${this.source(files)}`);
      return Number(reader.getRowsJS()[0]?.[0] ?? 0);
    });
  }

  /** The first `limit` rows and the column names. */
  async head(files: readonly string[], limit: number): Promise<{ columns: string[]; rows: Array<Record<string, Json>> }> {
    return this.guard(async () => {
      const reader = await this.connection.runAndReadAll(`SELECT * FROM ${this.source(files)} LIMIT ${Math.max(0, Math.floor(limit))}`);
      return { columns: reader.deduplicatedColumnNames(), rows: reader.getRowObjectsJson() };
    });
  }

  /** Every row, chunk by chunk (memory bounded by a chunk, not by the result). */
  async *rows(files: readonly string[]): AsyncGenerator<Record<string, Json>> {
    const result = await this.guard(() => this.connection.stream(`SELECT * FROM ${this.source(files)}`));
    for await (const chunk of result.yieldRowObjectJson()) yield* chunk;
  }

  /** Writes one file's rows as CSV with a header row to `path`; returns the row count. */
  async toCsv(file: string, path: string): Promise<number> {
    return this.guard(async () => {
      await this.connection.run(`COPY (SELECT * FROM ${this.source([file])}) TO ${literal(path)} (FORMAT csv, HEADER true)`);
      return this.count([file]);
    });
  }

  close(): void {
    this.connection.closeSync();
    this.instance.closeSync();
  }
}
