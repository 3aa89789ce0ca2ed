import type { DuckDBConnection } from "@duckdb/node-api";
import { EngineError, messageOf } from "./errors.js";
import { RESERVED_PREFIX } from "./job.js";
import { text } from "./sql.js";

/**
 * What a segment may be, after DuckDB's own parser has read it. The SQL to execute is DuckDB's rendering of the
 * parsed tree that was checked (json_serialize_sql → json_deserialize_sql), never the submitted text, so what runs
 * is exactly what was inspected, and the engine can embed it in its own statements.
 */
export type GuardedStatement =
  | { readonly kind: "query"; readonly sql: string }
  | {
      readonly kind: "create";
      readonly orReplace: boolean;
      readonly object: "VIEW" | "TABLE";
      readonly name: string;
      /** The AS query, rendered as above. */
      readonly sql: string;
    };

const ALLOWED_FORMS =
  "a segment may only be a SELECT (or WITH … SELECT) or CREATE [OR REPLACE] TEMP VIEW|TABLE <name> AS SELECT …";

// Table functions that compute rows rather than reach for them. Everything else — read_csv, read_parquet, query,
// duckdb_settings, pragma_*, … — either touches files or exposes the engine's own state, and a segment needs neither.
const ALLOWED_TABLE_FUNCTIONS = new Set(["range", "generate_series", "unnest"]);

// Scalar functions that expose the engine's configuration (temp directory, limits) to the query.
const DENIED_SCALAR_FUNCTIONS = new Set(["current_setting"]);

// The kinds of FROM-clause entries a segment may use; SHOW_REF (SHOW, DESCRIBE, SUMMARIZE) reads the catalog.
const ALLOWED_TABLE_REFS = new Set(["BASE_TABLE", "JOIN", "SUBQUERY", "TABLE_FUNCTION", "EMPTY", "EXPRESSION_LIST", "PIVOT"]);

function refuse(segment: string, reason: string): never {
  throw new EngineError("StatementNotAllowed", `${segment} is not allowed: ${reason}`);
}

const RAW_JSON = Symbol("raw JSON");

interface SerializedSql {
  /** The exact text DuckDB serialized: what is deserialized after the walk, so nothing is lost in between. */
  [RAW_JSON]: string;
  readonly error: boolean;
  readonly error_message?: string;
  readonly statements?: readonly unknown[];
}

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export class StatementGuard {
  private constructor(
    private readonly connection: DuckDBConnection,
    /** DuckDB's own views (duckdb_tables, information_schema.*, pg_catalog.*), by lower-case name. */
    private readonly systemViews: ReadonlySet<string>,
  ) {}

  static async create(connection: DuckDBConnection): Promise<StatementGuard> {
    const reader = await connection.runAndReadAll("SELECT DISTINCT lower(view_name) FROM duckdb_views() WHERE internal");
    return new StatementGuard(connection, new Set(reader.getRowsJS().map((row) => text(row[0]))));
  }

  /** Classifies one segment's statement, or throws StatementNotAllowed naming why. Nothing is executed. */
  async check(statement: string, segment: string): Promise<GuardedStatement> {
    let count: number;
    try {
      count = (await this.connection.extractStatements(statement)).count;
    } catch (error) {
      refuse(segment, `it does not parse: ${messageOf(error)}`);
    }
    if (count !== 1) refuse(segment, `a segment must be exactly one SQL statement, found ${count}`);

    const asQuery = await this.serialize(statement);
    if (!asQuery.error) return { kind: "query", sql: await this.checkedQuery(asQuery, segment) };

    const create = parseCreatePrefix(statement);
    if (create === undefined) refuse(segment, ALLOWED_FORMS);
    if (create.name.toLowerCase().startsWith(RESERVED_PREFIX)) {
      refuse(segment, `names starting with ${RESERVED_PREFIX} are reserved for the engine`);
    }
    const body = await this.serialize(statement.slice(create.bodyOffset));
    if (body.error) refuse(segment, `${ALLOWED_FORMS} (the AS part is not a query: ${body.error_message ?? "unknown"})`);
    return { kind: "create", orReplace: create.orReplace, object: create.object, name: create.name, sql: await this.checkedQuery(body, segment) };
  }

  private async serialize(sql: string): Promise<SerializedSql> {
    const reader = await this.connection.runAndReadAll("SELECT json_serialize_sql($1::VARCHAR)::VARCHAR", [sql]);
    const json = text(reader.getRowsJS()[0]?.[0]);
    // The tree is walked as parsed here but rendered from DuckDB's own text: JSON.parse would round unsigned 64-bit
    // fields (e.g. `query_location` 2^64-1 of a subquery), and DuckDB then refuses the whole tree.
    return Object.assign(JSON.parse(json) as SerializedSql, { [RAW_JSON]: json });
  }

  private async checkedQuery(serialized: SerializedSql, segment: string): Promise<string> {
    const statements = serialized.statements ?? [];
    if (statements.length !== 1) refuse(segment, `a segment must be exactly one SQL statement, found ${statements.length}`);
    this.walk(statements[0], segment);
    const reader = await this.connection.runAndReadAll("SELECT json_deserialize_sql($1::JSON)", [serialized[RAW_JSON]]);
    const sql = reader.getRowsJS()[0]?.[0];
    if (typeof sql !== "string" || sql.trim() === "") refuse(segment, "DuckDB could not render the checked query");
    return sql;
  }

  private walk(node: unknown, segment: string): void {
    if (Array.isArray(node)) {
      for (const child of node) this.walk(child, segment);
      return;
    }
    if (!isObject(node)) return;
    // Table references are the parse-tree objects with an alias and a sample clause that are neither expressions
    // (which carry a class) nor query nodes (which carry modifiers).
    if ("sample" in node && "alias" in node && !("class" in node) && !("modifiers" in node)) this.checkTableRef(node, segment);
    if (node.class === "FUNCTION" && typeof node.function_name === "string") {
      if (DENIED_SCALAR_FUNCTIONS.has(node.function_name.toLowerCase())) {
        refuse(segment, `function ${node.function_name} exposes the engine's configuration`);
      }
    }
    for (const child of Object.values(node)) this.walk(child, segment);
  }

  private checkTableRef(node: JsonObject, segment: string): void {
    const type = String(node.type);
    if (!ALLOWED_TABLE_REFS.has(type)) refuse(segment, `${type} reads the engine's catalog, not the job's views`);
    if (type === "TABLE_FUNCTION") {
      const fn = isObject(node.function) ? node.function : {};
      const name = typeof fn.function_name === "string" ? fn.function_name : "";
      if (!ALLOWED_TABLE_FUNCTIONS.has(name.toLowerCase()) || fn.schema !== "" || fn.catalog !== "") {
        refuse(segment, `table function ${name} is not available: segments read only the job's views`);
      }
    }
    if (type === "BASE_TABLE") {
      const name = String(node.table_name);
      if (node.schema_name !== "" || node.catalog_name !== "") {
        refuse(segment, `${String(node.schema_name)}.${name}: qualified names are not available, only the job's views`);
      }
      if (this.systemViews.has(name.toLowerCase())) refuse(segment, `${name} is DuckDB's catalog, not one of the job's views`);
      // DuckDB reads a table name it cannot find as a file or URL (a replacement scan). The sealed instance refuses
      // that at run time anyway; refusing path-like names here says why, and before any data is loaded.
      if (/[./\\:]/.test(name)) refuse(segment, `${name} looks like a file or URL; segments read only the job's views`);
    }
  }
}

interface CreatePrefix {
  readonly orReplace: boolean;
  readonly object: "VIEW" | "TABLE";
  readonly name: string;
  /** Where the AS query starts in the statement. */
  readonly bodyOffset: number;
}

interface Token {
  readonly text: string;
  readonly quoted: boolean;
  readonly end: number;
}

/** The next word or double-quoted identifier at or after `from`, skipping whitespace and comments. */
function nextToken(sql: string, from: number): Token | undefined {
  let i = from;
  for (;;) {
    while (i < sql.length && /\s/.test(sql[i]!)) i++;
    if (sql.startsWith("--", i)) {
      const end = sql.indexOf("\n", i);
      if (end < 0) return undefined;
      i = end + 1;
    } else if (sql.startsWith("/*", i)) {
      const end = sql.indexOf("*/", i + 2);
      if (end < 0) return undefined;
      i = end + 2;
    } else break;
  }
  if (sql[i] === '"') {
    let text = "";
    let j = i + 1;
    for (;;) {
      const close = sql.indexOf('"', j);
      if (close < 0) return undefined;
      text += sql.slice(j, close);
      if (sql[close + 1] !== '"') return { text, quoted: true, end: close + 1 };
      text += '"';
      j = close + 2;
    }
  }
  const word = /^[A-Za-z_][A-Za-z0-9_$]*/.exec(sql.slice(i));
  return word === null ? undefined : { text: word[0], quoted: false, end: i + word[0].length };
}

/**
 * Reads `CREATE [OR REPLACE] TEMP|TEMPORARY VIEW|TABLE <name> AS` — a fixed, tiny grammar, because DuckDB's parser
 * serializes only SELECTs. It only has to find where the query starts: the query itself is then checked by DuckDB's
 * parser, so a prefix read wrongly leaves a remainder that is not a query, and the segment is refused.
 */
export function parseCreatePrefix(sql: string): CreatePrefix | undefined {
  let position = 0;
  const keyword = (...words: string[]): string | undefined => {
    const token = nextToken(sql, position);
    if (token === undefined || token.quoted || !words.includes(token.text.toUpperCase())) return undefined;
    position = token.end;
    return token.text.toUpperCase();
  };
  if (keyword("CREATE") === undefined) return undefined;
  const orReplace = keyword("OR") !== undefined;
  if (orReplace && keyword("REPLACE") === undefined) return undefined;
  if (keyword("TEMP", "TEMPORARY") === undefined) return undefined;
  const object = keyword("VIEW", "TABLE");
  if (object !== "VIEW" && object !== "TABLE") return undefined;
  const name = nextToken(sql, position);
  if (name === undefined || name.text === "" || (!name.quoted && name.text.toUpperCase() === "AS")) return undefined;
  position = name.end;
  if (keyword("AS") === undefined) return undefined;
  return { orReplace, object, name: name.text, bodyOffset: position };
}
