import { mkdirSync, mkdtempSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Command } from "commander";
import type { DatasinkSpecification } from "@cleanroom/protocol";
import type { ObjectStore, ResolvedCredentials } from "@cleanroom/storage";
import { formatTable } from "../io.js";
import { cleanroomHome } from "../profiles.js";
import type { CommandContext } from "../context.js";
import { resourceId, runId } from "../analytics/arguments.js";
import { analyticsDocument, partyLabel } from "../analytics/documents.js";
import { guarded, UsageError } from "../analytics/errors.js";
import { dataKeyOf, KeyStore } from "../analytics/key-store.js";
import { ByteProgress } from "../analytics/progress.js";
import { findRunObjects, isResultFile, ResultReader, TABLE_ROW_LIMIT } from "../analytics/results.js";
import { memberLabels } from "./member-names.js";
import type { Run } from "./types.js";

export interface ResultsDownloadOptions {
  contractId: string;
  sink: string;
  jobId?: string;
  runId?: string;
  out?: string;
  storageCredentials?: string;
}

/** What `results download --out` prints (JSON output: this object). */
export interface ResultsDownloadResult {
  contractId: string;
  sink: string;
  runId: string;
  files: Array<{ object: string; path: string; rows: number }>;
}

/** A run that cannot have results (failed, still running, another sink): not worth looking in the sink for. */
class RunWithoutResults extends Error {}

interface ResultObject {
  key: string;
  size?: number;
}

/**
 * The run's output objects: from the agent's status when the profile has an agent (the exact keys), else (or if the
 * agent cannot tell) by listing `<contractId>/` in the sink for the run's folder.
 */
async function locateOutput(ctx: CommandContext, store: ObjectStore, contractId: string, sinkId: string, run: string, spec: DatasinkSpecification): Promise<ResultObject[]> {
  if (ctx.hasAgent()) {
    try {
      const status = await (await ctx.agentClient()).status(run);
      if (status.contractId !== contractId) throw new RunWithoutResults(`Run ${run} belongs to contract ${status.contractId}, not ${contractId}.`);
      if (status.state === "FAILED") throw new RunWithoutResults(`Run ${run} FAILED (${status.error ? `${status.error.code}: ${status.error.message}` : "no reason given"}): it wrote no results.`);
      if (status.state !== "COMPLETED") throw new RunWithoutResults(`Run ${run} is ${status.state}: its results are not written yet (follow it with: cleanroom query status --job-id ${run}).`);
      if (!status.output) throw new RunWithoutResults(`Run ${run} reports no output.`);
      if (status.output.sink !== sinkId) throw new RunWithoutResults(`Run ${run} wrote to sink ${status.output.sink}, not ${sinkId}.`);
      const folder = `${status.output.path}/`;
      const keys = status.output.objects.filter((key) => key.startsWith(folder) && isResultFile(key, spec.schema.format));
      if (keys.length === 0) throw new RunWithoutResults(`Run ${run} reports no ${spec.schema.format} objects under ${folder}.`);
      return keys.map((key) => ({ key }));
    } catch (error) {
      if (error instanceof RunWithoutResults) throw error;
      ctx.printer.note(`the agent could not tell where run ${run} wrote (${(error as Error).message}); looking for it in the sink`);
    }
  }
  const found = await findRunObjects(store, contractId, run, spec.schema.format);
  if (found.otherDays.length > 0) ctx.printer.note(`run id ${run} also has results dated ${found.otherDays.join(", ")}; reading the latest, ${found.folder}/`);
  return found.objects;
}

/** `results download`: see the command's description. */
async function downloadResults(ctx: CommandContext, options: ResultsDownloadOptions): Promise<void> {
  const contractId = resourceId(options.contractId, "--contract-id");
  const sinkId = resourceId(options.sink, "--sink");
  if ((options.jobId === undefined) === (options.runId === undefined)) throw new UsageError("give the run with --job-id <id> (or --run-id <id>)");
  const run = runId((options.jobId ?? options.runId) as string, options.jobId !== undefined ? "--job-id" : "--run-id");

  const client = await ctx.client();
  const { document, spec } = await analyticsDocument(client, contractId, sinkId, "datasink");
  let key: Buffer | undefined;
  if (spec.encryption.mode === "parquet-uniform") {
    const { name } = ctx.profile();
    const keys = new KeyStore(cleanroomHome(ctx.io.env), name);
    const entry = keys.read(contractId, sinkId);
    if (entry?.key === undefined) {
      const owner = partyLabel(document.proposerId, document.proposerIdType, await memberLabels(client));
      throw new Error(
        `Profile '${name}' has no key for sink ${sinkId} (${keys.path(contractId, sinkId)}). Results are encrypted under the sink's data key, which governance releases only to the clean room; its only other copy is kept by the sink owner's profile (${owner}), which created it with \`cleanroom sink publish\`. Download as that profile (--profile).`,
      );
    }
    key = dataKeyOf(entry, keys.path(contractId, sinkId));
  }

  let credentials: ResolvedCredentials = { kind: "none" };
  const { openStore, parseSecretCredentials, downloadToFile } = await import("@cleanroom/storage");
  if (spec.location.kind === "local") {
    if (options.storageCredentials !== undefined) throw new UsageError(`sink ${sinkId} is a local folder: it takes no --storage-credentials`);
  } else {
    if (options.storageCredentials === undefined) throw new UsageError(`sink ${sinkId} is in ${spec.location.kind} storage: give your credentials for it with --storage-credentials <file>`);
    try {
      credentials = parseSecretCredentials(spec.location, ctx.readFile(options.storageCredentials));
    } catch (error) {
      throw new UsageError(`--storage-credentials: ${(error as Error).message}`);
    }
  }
  const store = openStore(spec.location, credentials);
  const objects = await locateOutput(ctx, store, contractId, sinkId, run, spec);

  const folder = mkdtempSync(join(tmpdir(), "cleanroom-results-"));
  try {
    const files: Array<{ object: string; file: string }> = [];
    for (const [index, object] of objects.entries()) {
      const file = join(folder, `${index}.${spec.schema.format}`);
      const progress = new ByteProgress(ctx.io, `downloading ${object.key}`, object.size);
      await downloadToFile(store, object.key, file, { onProgress: (bytes) => progress.update(bytes) });
      progress.done();
      files.push({ object: object.key, file });
    }
    const reader = await ResultReader.open(spec.schema.format, key);
    try {
      if (options.out !== undefined) return await writeCsvFiles(ctx, reader, files, options.out, { contractId, sink: sinkId, runId: run });
      await printRows(ctx, reader, files.map((f) => f.file));
    } finally {
      reader.close();
    }
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

/** Each object as `<out>/<its path in the run's folder, '/' as '_', extension .csv>`, written whole or not at all. */
async function writeCsvFiles(
  ctx: CommandContext,
  reader: ResultReader,
  files: ReadonlyArray<{ object: string; file: string }>,
  out: string,
  ids: Omit<ResultsDownloadResult, "files">,
): Promise<void> {
  const directory = ctx.path(out);
  mkdirSync(directory, { recursive: true });
  const result: ResultsDownloadResult = { ...ids, files: [] };
  for (const { object, file } of files) {
    const relative = object.split(`/${ids.runId}/`).slice(1).join(`/${ids.runId}/`) || object;
    const name = relative.replace(/\.[^./]+$/, "").replaceAll("/", "_") + ".csv";
    const path = join(directory, name);
    const temporary = join(directory, `.${name}.${process.pid}.partial`);
    try {
      const rows = await reader.toCsv(file, temporary);
      renameSync(temporary, path);
      result.files.push({ object, path, rows });
      ctx.printer.note(`wrote ${rows} rows to ${path}`);
    } finally {
      rmSync(temporary, { force: true });
    }
  }
  ctx.printer.value(result, () =>
    formatTable(result.files, [
      { header: "FILE", value: (f) => f.path },
      { header: "ROWS", value: (f) => f.rows },
      { header: "OBJECT", value: (f) => f.object },
    ]),
  );
}

/** Rows to stdout: JSON lines (every row) with --output json, else a table of the first TABLE_ROW_LIMIT rows and a count. */
async function printRows(ctx: CommandContext, reader: ResultReader, files: readonly string[]): Promise<void> {
  if (ctx.printer.format === "json") {
    for await (const row of reader.rows(files)) ctx.io.stdout(`${JSON.stringify(row)}\n`);
    return;
  }
  const total = await reader.count(files);
  const { columns, rows } = await reader.head(files, TABLE_ROW_LIMIT);
  const table = columns.length === 0 ? "" : formatTable(rows, columns.map((column) => ({ header: column, value: (row: Record<string, unknown>) => row[column] })));
  const summary =
    total > rows.length
      ? `first ${rows.length} of ${total} rows: use --out <dir> to write them all as CSV, or --output json for JSON lines\n`
      : `${total} row${total === 1 ? "" : "s"}\n`;
  ctx.io.stdout(`${table}${summary}`);
}

export function registerResultsCommands(program: Command, run: Run): void {
  const results = program.command("results").description("A run's results, for the sink's owner: downloaded from the sink and decrypted with the key in this profile's key store.");
  run(
    results
      .command("download")
      .description(
        "Download a run's results from the sink (<contractId>/<YYYY-MM-DD>/<runId>/), decrypt them with the sink's key from this profile's key store, and print them (a table of the first 200 rows, or JSON lines with --output json) or write them as CSV files into --out.",
      )
      .requiredOption("--contract-id <id>", "contract id")
      .requiredOption("--sink <id>", "the sink's document id")
      .option("--job-id <id>", "the run (its job id = run id)")
      .option("--run-id <id>", "same as --job-id")
      .option("--out <dir>", "write each result file as CSV (with a header row) into this folder")
      .option("--storage-credentials <file>", "your credentials for the sink's storage (not for local folders), as for sink publish"),
    guarded(downloadResults),
  );
}
