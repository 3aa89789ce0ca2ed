import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runJob } from "./engine.js";
import { EngineError } from "./errors.js";
import { csvFileWriter } from "./writers/csv.js";
import {
  AGGREGATE_SEGMENT,
  JOIN_SEGMENT,
  advertiserInput,
  createWorkspace,
  joinAggregateJob,
  outputs,
  publisherInput,
  readJsonLines,
  recorder,
  writeParquet,
  type Workspace,
} from "./testing.case.js";

let ws: Workspace;
beforeEach(async () => {
  ws = await createWorkspace();
});
afterEach(async () => {
  await ws.cleanup();
});

async function failure(promise: Promise<unknown>): Promise<EngineError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(EngineError);
  return error as EngineError;
}

describe("a two-dataset join-aggregate", () => {
  it("runs with its preconditions met, writes the result and reports the reference's events", async () => {
    const { events, options } = recorder(ws);
    const result = await runJob(joinAggregateJob(ws), options);

    expect(result).toMatchObject({ rowsRead: 10, rowsWritten: 2, outputLocation: ws.outputPath });
    expect(await readJsonLines(ws.outputPath)).toEqual([
      { campaign: "c1", users: 3, conversions: 7 },
      { campaign: "c2", users: 1, conversions: 1 },
    ]);
    expect(events.map((event) => `${event.category}:${event.name}`)).toEqual([
      "operational:DATASET_LOAD_STARTED",
      "operational:DATASET_LOAD_STARTED",
      "operational:DATASET_LOAD_COMPLETED",
      "audit:DATASET_LOAD_COMPLETED",
      "operational:DATASET_LOAD_COMPLETED",
      "audit:DATASET_LOAD_COMPLETED",
      "operational:QUERY_SEGMENT_EXECUTION_STARTED",
      "operational:QUERY_SEGMENT_EXECUTION_COMPLETED",
      "operational:QUERY_SEGMENT_EXECUTION_STARTED",
      "operational:QUERY_SEGMENT_EXECUTION_COMPLETED",
      "operational:DATASET_WRITE_STARTED",
      "operational:DATASET_WRITE_COMPLETED",
      "audit:DATASET_WRITE_COMPLETED",
      "operational:QUERY_EXECUTION_COMPLETED",
      "audit:QUERY_COMPLETED",
      "statistics:QUERY_STATISTICS",
    ]);
    const messages = events.map((event) => ("message" in event ? event.message : ""));
    expect(messages).toContain("Event_1002 | Dataset publisher-impressions loaded successfully from 1 file(s) with 6 rows");
    expect(messages).toContain("Event_DATASET_LOAD_COMPLETED_3001 | Dataset: advertiser-conversions load completed successfully | job id: run-1");
    expect(messages).toContain("Event_1008 | Query segment in step 2 completed with 2 rows");
    expect(messages).toContain(`Event_1005 | Output to datasink campaign-results written successfully at ${ws.outputPath} with 2 rows`);
    expect(messages).toContain(
      `Event_DATASET_WRITE_COMPLETED_3005 | Dataset write completed successfully to ${ws.outputPath} | dataset: campaign-results | rows: 2 | job id: run-1`,
    );
    expect(events.at(-1)).toMatchObject({ id: 2001, data: { num_rows_read: 10, num_rows_written: 2 } });
  });

  it("fails before the segment when a k-min precondition is not met, and writes nothing", async () => {
    const { events, options } = recorder(ws);
    const job = joinAggregateJob(ws, {
      segments: [{ ...JOIN_SEGMENT, preConditions: [{ viewName: "advertiser_data", minRowCount: 100 }] }, AGGREGATE_SEGMENT],
    });
    const error = await failure(runJob(job, options));
    expect(error.code).toBe("PreConditionFailed");
    expect(error.message).toBe("Pre-segment enforcement failed for view advertiser_data: row count 4 is less than minRowCount 100");
    expect(await outputs(ws)).toEqual([]);
    const names = events.map((event) => event.name);
    expect(names).toContain("QUERY_SEGMENT_EXECUTION_FAILED");
    expect(names).not.toContain("DATASET_WRITE_STARTED");
    expect(events.at(-1)).toMatchObject({ name: "QUERY_FAILED", id: 3004, message: expect.stringContaining("| reason: Pre-segment enforcement failed") });
  });

  it("fails when a precondition names a view that does not exist", async () => {
    const job = joinAggregateJob(ws, { segments: [{ ...JOIN_SEGMENT, preConditions: [{ viewName: "nobody", minRowCount: 1 }] }, AGGREGATE_SEGMENT] });
    const error = await failure(runJob(job, recorder(ws).options));
    expect(error).toMatchObject({ code: "ViewNotFound", message: "View nobody does not exist in the catalog. Exiting" });
  });

  it("also checks preconditions on views created by earlier steps", async () => {
    const job = joinAggregateJob(ws, { segments: [JOIN_SEGMENT, { ...AGGREGATE_SEGMENT, preConditions: [{ viewName: "joined", minRowCount: 5 }] }] });
    const error = await failure(runJob(job, recorder(ws).options));
    expect(error.message).toBe("Pre-segment enforcement failed for view joined: row count 4 is less than minRowCount 5");
  });
});

describe("post-filters", () => {
  it("keep the rows with col >= value", async () => {
    const job = joinAggregateJob(ws, { segments: [JOIN_SEGMENT, { ...AGGREGATE_SEGMENT, postFilters: [{ columnName: "users", value: 2 }] }] });
    const result = await runJob(job, recorder(ws).options);
    expect(result.rowsWritten).toBe(1);
    expect(await readJsonLines(ws.outputPath)).toEqual([{ campaign: "c1", users: 3, conversions: 7 }]);
  });

  it("fail the segment when the column is missing", async () => {
    const job = joinAggregateJob(ws, { segments: [JOIN_SEGMENT, { ...AGGREGATE_SEGMENT, postFilters: [{ columnName: "clicks", value: 2 }] }] });
    const error = await failure(runJob(job, recorder(ws).options));
    expect(error).toMatchObject({ code: "PostFilterColumnMissing", message: "postFilter column clicks is not in the result of segment 2" });
    expect(await outputs(ws)).toEqual([]);
  });
});

describe("subqueries", () => {
  it("runs a statement with a subquery in FROM (its parse tree carries unsigned 64-bit fields)", async () => {
    const statement = `SELECT campaign, COUNT(*) AS users, CAST(SUM(conversions) AS BIGINT) AS conversions
      FROM (SELECT p.campaign, a.conversions FROM publisher_data p JOIN advertiser_data a ON p.user_id = a.user_id) AS joined
      GROUP BY campaign ORDER BY campaign`;
    const job = joinAggregateJob(ws, { segments: [{ executionSequence: 1, statement }] });
    const result = await runJob(job, recorder(ws).options);
    expect(result.rowsWritten).toBe(2);
    expect(await readJsonLines(ws.outputPath)).toEqual([
      { campaign: "c1", users: 3, conversions: 7 },
      { campaign: "c2", users: 1, conversions: 1 },
    ]);
  });
});

describe("steps", () => {
  it("runs the segments of one step concurrently, each seeing the job's views, and later steps see their views", async () => {
    const { events, options } = recorder(ws);
    const job = joinAggregateJob(ws, {
      segments: [
        { executionSequence: 5, statement: "CREATE TEMP VIEW pub AS SELECT user_id, campaign FROM publisher_data" },
        { executionSequence: 5, statement: "CREATE TEMPORARY TABLE adv AS SELECT user_id, conversions FROM advertiser_data" },
        { executionSequence: 5, statement: "SELECT count(*) AS n FROM publisher_data", postFilters: [{ columnName: "n", value: 1 }] },
        { executionSequence: 9, statement: AGGREGATE_SEGMENT.statement.replace("FROM joined", "FROM pub JOIN adv USING (user_id)") },
      ],
    });
    await runJob(job, options);
    expect(await readJsonLines(ws.outputPath)).toEqual([
      { campaign: "c1", users: 3, conversions: 7 },
      { campaign: "c2", users: 1, conversions: 1 },
    ]);
    const completed = events.filter((event) => event.name === "QUERY_SEGMENT_EXECUTION_COMPLETED").map((event) => event.data);
    expect(completed).toEqual(
      expect.arrayContaining([
        { step_number: 5, row_count: 0 },
        { step_number: 5, row_count: 1 },
        { step_number: 9, row_count: 2 },
      ]),
    );
  });

  it("refuses a program whose last step has more than one segment, before loading anything", async () => {
    const { events, options } = recorder(ws);
    const job = joinAggregateJob(ws, { segments: [JOIN_SEGMENT, AGGREGATE_SEGMENT, { ...AGGREGATE_SEGMENT }] });
    const error = await failure(runJob(job, options));
    expect(error).toMatchObject({ code: "SegmentProgramInvalid", message: "There should be just 1 last segment but there are 2." });
    expect(events.map((event) => event.name)).toEqual(["QUERY_EXECUTION_FAILED", "QUERY_FAILED"]);
  });

  it("refuses a CREATE as the last segment: the output must be a query's rows", async () => {
    const error = await failure(runJob(joinAggregateJob(ws, { segments: [JOIN_SEGMENT] }), recorder(ws).options));
    expect(error.code).toBe("SegmentProgramInvalid");
  });
});

describe("projection to allowed fields", () => {
  it("a segment cannot select a field that is in the schema but not allowed: the column does not exist", async () => {
    const job = joinAggregateJob(ws, { segments: [{ executionSequence: 1, statement: "SELECT campaign, email FROM publisher_data" }] });
    const error = await failure(runJob(job, recorder(ws).options));
    expect(error.code).toBe("SegmentFailed");
    expect(error.message).toMatch(/segment 1 \(step 1\) failed: .*email/);
  });

  it("loads the allowed fields in allowed-field order, with their declared types", async () => {
    const job = joinAggregateJob(ws, {
      inputs: [publisherInput(ws), advertiserInput(ws)],
      segments: [{ executionSequence: 1, statement: "SELECT * FROM publisher_data WHERE user_id = 'u6'" }],
      output: {
        sinkName: "rows",
        fields: [
          { name: "campaign", type: "string" },
          { name: "user_id", type: "string" },
          { name: "day", type: "date" },
        ],
        allowedFields: ["day", "campaign", "user_id", "not_in_result"],
      },
    });
    const columnsSeen: string[] = [];
    await runJob(job, { ...recorder(ws).options, beforeCommit: ({ columns }) => (columnsSeen.push(...columns.map((c) => `${c.name}:${c.type}`)), Promise.resolve(true)) });
    // The sink's allowed-field order, skipping what the result lacks.
    expect(columnsSeen).toEqual(["day:date", "campaign:string", "user_id:string"]);
    expect(await readJsonLines(ws.outputPath)).toEqual([{ day: "2026-11-03", campaign: "c3", user_id: "u6" }]);
  });

  it("reads plaintext Parquet by column name and casts to the declared types", async () => {
    const path = join(ws.dir, "advertiser.parquet");
    await writeParquet(path, "SELECT * FROM (VALUES ('u1', 2::INTEGER, 10.5), ('u2', 1::INTEGER, 3.0), ('u3', 4::INTEGER, 7.25)) v(user_id, conversions, revenue)");
    const job = joinAggregateJob(ws, {
      inputs: [publisherInput(ws), advertiserInput(ws, { format: "parquet", files: [path] })],
    });
    const result = await runJob(job, recorder(ws).options);
    expect(result.rowsRead).toBe(9);
    expect(await readJsonLines(ws.outputPath)).toEqual([{ campaign: "c1", users: 3, conversions: 7 }]);
  });

  it("treats a dataset without files as empty, so that only its preconditions decide", async () => {
    const job = joinAggregateJob(ws, { inputs: [publisherInput(ws), advertiserInput(ws, { files: [] })] });
    const error = await failure(runJob(job, recorder(ws).options));
    expect(error.message).toBe("Pre-segment enforcement failed for view advertiser_data: row count 0 is less than minRowCount 3");
  });

  it("fails the load of a CSV value that does not convert to its declared type", async () => {
    const job = joinAggregateJob(ws, {
      inputs: [publisherInput(ws, { fields: [{ name: "user_id", type: "integer" }, ...publisherInput(ws).fields.slice(1)] }), advertiserInput(ws)],
    });
    const { events, options } = recorder(ws);
    const error = await failure(runJob(job, options));
    expect(error.code).toBe("DatasetLoadFailed");
    expect(error.message).toMatch(/^dataset publisher-impressions could not be loaded: /);
    expect(events.map((event) => event.name)).toContain("DATASET_LOAD_FAILED");
  });
});

describe("the sink", () => {
  it("refuses a result whose column type differs from the sink schema, naming the column", async () => {
    const job = joinAggregateJob(ws);
    const output = { ...job.output, fields: job.output.fields.map((f) => (f.name === "users" ? { ...f, type: "string" as const } : f)) };
    const { events, options } = recorder(ws);
    const error = await failure(runJob({ ...job, output }, options));
    expect(error.code).toBe("SinkSchemaMismatch");
    expect(error.message).toBe(
      "DataFrame schema does not match expected dataset schema. Column users is BIGINT, but sink campaign-results declares it string (VARCHAR).",
    );
    expect(events.map((event) => event.name)).toEqual(expect.arrayContaining(["DATASET_WRITE_STARTED", "DATASET_WRITE_FAILED"]));
    expect(await outputs(ws)).toEqual([]);
  });

  it("writes nothing when consent is withdrawn before commit", async () => {
    let asked = 0;
    const { options } = recorder(ws, { beforeCommit: () => (asked++, Promise.resolve(false)) });
    const error = await failure(runJob(joinAggregateJob(ws), options));
    expect(asked).toBe(1);
    expect(error.code).toBe("ConsentRevoked");
    expect(await outputs(ws)).toEqual([]);
  });

  it("leaves no partial file when the writer fails mid-stream", async () => {
    const { options } = recorder(ws);
    const inner = options.openWriter;
    const error = await failure(
      runJob(joinAggregateJob(ws), {
        ...options,
        openWriter: async (columns) => {
          const writer = await inner(columns);
          return { ...writer, write: () => Promise.reject(new Error("disk full")) };
        },
      }),
    );
    expect(error).toMatchObject({ code: "DatasetWriteFailed", message: "output to sink campaign-results could not be written: disk full" });
    expect(await outputs(ws)).toEqual([]);
  });

  it("writes CSV with a header, quoting where needed", async () => {
    const path = join(ws.dir, "out.csv");
    const job = joinAggregateJob(ws, {
      segments: [{ executionSequence: 1, statement: "SELECT user_id, campaign FROM publisher_data ORDER BY user_id DESC LIMIT 1" }],
      output: { sinkName: "s", fields: [{ name: "campaign", type: "string" }, { name: "user_id", type: "string" }], allowedFields: ["campaign", "user_id"] },
    });
    await runJob(job, { ...recorder(ws).options, openWriter: csvFileWriter(path) });
    expect(await readFile(path, "utf8")).toBe("campaign,user_id\nc3,u6\n");
  });
});

describe("bad jobs", () => {
  it("refuses an input key that is not 32 bytes, and keys on non-Parquet inputs", async () => {
    const short = joinAggregateJob(ws, { inputs: [advertiserInput(ws, { format: "parquet", encryptionKey: Buffer.alloc(16) })] });
    expect(await failure(runJob(short, recorder(ws).options))).toMatchObject({ code: "InvalidJob" });
    const csv = joinAggregateJob(ws, { inputs: [publisherInput(ws, { encryptionKey: Buffer.alloc(32) })] });
    expect(await failure(runJob(csv, recorder(ws).options))).toMatchObject({ code: "InvalidJob" });
  });

  it("refuses two datasets under one view name", async () => {
    const job = joinAggregateJob(ws, { inputs: [publisherInput(ws), advertiserInput(ws, { view: "PUBLISHER_DATA" })] });
    expect(await failure(runJob(job, recorder(ws).options))).toMatchObject({ code: "InvalidJob" });
  });
});
