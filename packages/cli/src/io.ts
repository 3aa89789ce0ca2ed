/** Where the CLI writes, injectable so tests drive the real CLI in-process. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Record<string, string | undefined>;
  cwd: string;
}

export type OutputFormat = "json" | "table";

/** A column of a table: header and how to get the cell. */
export interface Column<T> {
  header: string;
  value: (row: T) => unknown;
}

function cell(value: unknown): string {
  if (value === undefined || value === null) return "";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}

export function formatTable<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const cells = rows.map((row) => columns.map((column) => cell(column.value(row))));
  const widths = columns.map((column, i) => Math.max(column.header.length, ...cells.map((r) => (r[i] ?? "").length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i] ?? 0)).join("  ").trimEnd();
  return [line(columns.map((c) => c.header)), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)].join("\n") + "\n";
}

/** Key/value lines for one object; nested values as compact JSON. */
export function formatRecord(record: Record<string, unknown>): string {
  const keys = Object.keys(record);
  const width = Math.max(0, ...keys.map((k) => k.length));
  return keys.map((key) => `${key.padEnd(width)}  ${cell(record[key])}`).join("\n") + "\n";
}

/** Prints a result in the chosen format: JSON as is, or a table/record for people. */
export class Printer {
  constructor(
    private readonly io: CliIo,
    readonly format: OutputFormat,
  ) {}

  value(value: unknown, table?: () => string): void {
    if (this.format === "json" || !table) this.io.stdout(JSON.stringify(value, null, 2) + "\n");
    else this.io.stdout(table());
  }

  /** Progress and notes go to stderr, so stdout stays machine-readable. */
  note(text: string): void {
    this.io.stderr(text + "\n");
  }
}
