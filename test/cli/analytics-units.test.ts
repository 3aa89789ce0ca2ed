import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { AuditEvent, RunEvent, RunStatus } from "@cleanroom/protocol";
import { minRows, parseFields, postFilter, queryInput } from "../../packages/cli/src/analytics/arguments.js";
import { locationUrl } from "@cleanroom/storage/location-url";
import { canonicalJson, changedFields } from "../../packages/cli/src/analytics/documents.js";
import { describeIssues } from "../../packages/cli/src/analytics/errors.js";
import { KeyStore } from "../../packages/cli/src/analytics/key-store.js";
import { ByteProgress, formatBytes } from "../../packages/cli/src/analytics/progress.js";
import { eventText, formatRunHistory, RunProgress } from "../../packages/cli/src/analytics/run-output.js";
import { auditMessage, auditSource } from "../../packages/cli/src/commands/analytics-audit.js";
import { objectKeyFor } from "../../packages/cli/src/commands/analytics-dataset.js";

// The analytics commands' pure parts: argument parsing, the key store, and the text they show.

const home = mkdtempSync(join(tmpdir(), "cleanroom-analytics-units-"));
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe("arguments", () => {
  it("parses --fields and says what is wrong with them", () => {
    expect(parseFields(" a:string , b:long,c:timestamp")).toEqual([
      { name: "a", type: "string" },
      { name: "b", type: "long" },
      { name: "c", type: "timestamp" },
    ]);
    expect(() => parseFields("a:string,,b:long")).toThrow("--fields: '' is not <name>:<type>");
    expect(() => parseFields("a:text")).toThrow("--fields: field 'a' has unknown type 'text' (types: string, integer, long, number, boolean, date, timestamp)");
    expect(() => parseFields("a:")).toThrow("is not <name>:<type>");
  });

  it("parses query inputs, minimum rows and post-filters", () => {
    expect(queryInput("impressions:imp")).toEqual({ dataset: "impressions", view: "imp" });
    expect(minRows("joined:100")).toEqual({ viewName: "joined", minRowCount: 100 });
    expect(postFilter("conversions:-3")).toEqual({ columnName: "conversions", value: -3 });
    expect(() => queryInput("impressions")).toThrow("--input 'impressions' is not <dataset document id>:<view name>");
    expect(() => minRows("joined:1.5")).toThrow("'1.5' is not an integer");
  });

  it("names objects after the input, under the partition date", () => {
    expect(objectKeyFor("/data/impressions.csv", undefined)).toBe("impressions.parquet");
    expect(objectKeyFor("/data/day.2026.jsonl", "2026-01-02")).toBe("2026-01-02/day.2026.parquet");
    expect(() => objectKeyFor("/data/_hidden.csv", undefined)).toThrow(/readers skip/);
    expect(() => objectKeyFor("/data/.csv", undefined)).toThrow(/readers skip/);
  });

  it("renames schema paths to the flags they came from", () => {
    expect(describeIssues([{ path: ["accessPolicy", "allowedFields", 1], message: "'x' is not a field" }], [["accessPolicy.allowedFields", "--allowed-fields"]])).toBe(
      "--allowed-fields (accessPolicy.allowedFields.1): 'x' is not a field",
    );
    expect(describeIssues([{ path: [], message: "bad" }])).toBe("value: bad");
  });
});

describe("documents", () => {
  it("compares data regardless of key order, and names the fields that differ", () => {
    expect(canonicalJson({ b: [1, { d: 1, c: 2 }], a: null })).toBe(canonicalJson({ a: null, b: [1, { c: 2, d: 1 }] }));
    expect(changedFields({ name: "x", location: { kind: "local", path: "/a" } }, { name: "x", location: { kind: "local", path: "/b" } })).toEqual(["location"]);
  });

  it("shows locations as the storage connectors name them", () => {
    expect(locationUrl({ kind: "local", path: "/srv/data" })).toBe("/srv/data");
    expect(locationUrl({ kind: "azure-blob", accountUrl: "http://127.0.0.1:10000/devstoreaccount1", container: "sales", prefix: "2026" })).toBe("azure-blob://127.0.0.1:10000/devstoreaccount1/sales/2026");
    expect(locationUrl({ kind: "s3", endpoint: "https://minio.example:9000", region: "us-east-1", bucket: "b1", forcePathStyle: true })).toBe("s3://b1/ at minio.example:9000");
    expect(locationUrl({ kind: "s3", region: "us-east-1", bucket: "b1", prefix: "p" })).toBe("s3://b1/p");
  });
});

describe("key store", () => {
  const store = new KeyStore(home, "alice");

  it("writes 0600 files in 0700 folders, leaving no temporary files", () => {
    const key = Buffer.alloc(32, 3).toString("base64");
    store.write("c1", "d1", { key, secretId: "alice_d1-key" });
    store.write("c1", "d1", { key, secretId: "alice_d1-key", sourceDigest: "ab" });
    expect(store.read("c1", "d1")).toEqual({ key, secretId: "alice_d1-key", sourceDigest: "ab" });
    expect(statSync(store.path("c1", "d1")).mode & 0o777).toBe(0o600);
    expect(statSync(join(home, "keys", "alice", "c1")).mode & 0o777).toBe(0o700);
    expect(readdirSync(join(home, "keys", "alice", "c1"))).toEqual(["d1.json"]);
    expect(store.read("c1", "missing")).toBeUndefined();
  });

  it("refuses files that are not key files and keys that are not 32 bytes", () => {
    mkdirSync(join(home, "keys", "alice", "c2"), { recursive: true });
    writeFileSync(store.path("c2", "bad"), "{oops");
    expect(() => store.read("c2", "bad")).toThrow(/is not valid JSON/);
    writeFileSync(store.path("c2", "short"), JSON.stringify({ key: Buffer.alloc(16).toString("base64") }));
    expect(() => store.read("c2", "short")).toThrow(/does not hold a base64 32-byte key/);
    expect(() => store.path("..", "x")).toThrow(/contract id '\.\.' is not a valid id/);
  });
});

describe("run output", () => {
  const event = (seq: number, category: RunEvent["category"], eventId: number, message: string): RunEvent => ({
    seq,
    timestamp: `2026-01-05T10:00:0${seq}Z`,
    category,
    name: "X",
    eventId,
    message,
    data: {},
  });
  const status = (state: RunStatus["state"], events: RunEvent[]): RunStatus => ({
    id: "r1",
    runId: "r1",
    queryId: "q",
    contractId: "c",
    state,
    submittedBy: { kind: "user", id: "u" },
    submittedAt: "2026-01-05T10:00:00Z",
    events,
  });

  it("shows state changes and each new event once, leaving out the catalogue's audit copies", () => {
    const progress = new RunProgress();
    const first = [event(1, "operational", 1001, "Event_1001 | Started loading dataset d")];
    expect(progress.lines(status("RUNNING", first))).toEqual(["run r1: RUNNING", "  10:00:01  Started loading dataset d"]);
    expect(progress.lines(status("RUNNING", first))).toEqual([]);
    const more = [...first, event(2, "audit", 3001, "Event_DATASET_LOAD_COMPLETED_3001 | Dataset: d load completed"), event(3, "audit", 0, "Starting query execution")];
    expect(progress.lines(status("COMPLETED", [...more, event(4, "statistics", 2001, '{"num_rows_read":3}')]))).toEqual(["run r1: COMPLETED", "  10:00:03  Starting query execution"]);
    expect(eventText({ message: "Event_QUERY_FAILED_3004 | Query failed | job id: r1" })).toBe("Query failed | job id: r1");
  });

  it("says when a query has no finished runs", () => {
    const summary = { totalRuns: 0, successfulRuns: 0, failedRuns: 0, totalRuntimeSeconds: 0, avgDurationSeconds: 0, totalRowsRead: 0, totalRowsWritten: 0 };
    expect(formatRunHistory({ queryId: "q", latestRun: null, runs: [], summary })).toBe("no finished runs of query q\n");
  });

  it("shows transfers in steps, and sizes in binary units", () => {
    const lines: string[] = [];
    const progress = new ByteProgress({ stdout: () => undefined, stderr: (text) => lines.push(text), env: {}, cwd: "/" }, "uploading x", 1000);
    for (let bytes = 100; bytes <= 1000; bytes += 100) progress.update(bytes);
    progress.done();
    expect(lines).toHaveLength(10);
    expect(lines.at(-1)).toBe("uploading x: 1000 B / 1000 B (100%) done\n");
    const unknown: string[] = [];
    const open = new ByteProgress({ stdout: () => undefined, stderr: (text) => unknown.push(text), env: {}, cwd: "/" }, "downloading y");
    open.update(5000);
    open.done();
    expect(unknown).toEqual(["downloading y: 4.9 KiB done\n"]);
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatBytes(3 * 1024 * 1024 * 1024)).toBe("3.0 GiB");
  });
});

describe("audit timeline", () => {
  const label = (id: string) => (id === "m1" ? "publisher (m1…)" : id);
  const base = { id: "c", scope: "", seqno: 1, transactionId: "2.1", timestamp: "0", timestamp_iso: "2026-01-05T10:00:00Z" };

  it("shows a clean room's events by their source and message", () => {
    const event: AuditEvent = {
      ...base,
      data: { source: "cleanroom-agent", message: "Starting query execution for queryId: q1. | job id: r1." },
      writer: { kind: "cleanroom", id: "ab".repeat(32), hostData: "ab".repeat(32), attestationMode: "virtual-platform", timestamp: "1" },
    };
    expect(auditSource(event, label)).toBe("clean room cleanroom-agent");
    expect(auditMessage(event, label)).toBe("Starting query execution for queryId: q1. | job id: r1.");
  });

  it("shows a governance decision as its type, who acted and its details", () => {
    const event = {
      ...base,
      scope: "governance",
      data: { type: "contract.secret.released", contractId: "c", actor: { kind: "cleanroom", id: "cd".repeat(32) }, secretId: `${"ef".repeat(32)}_results-key` },
      writer: { kind: "service", id: "governance" },
    } as AuditEvent;
    expect(auditSource(event, label)).toBe("governance");
    expect(auditMessage(event, label)).toBe("contract.secret.released by clean room cdcdcdcd…: secretId=efefefef…_results-key");
    expect(auditMessage({ ...event, data: { type: "userdocument.approved", contractId: "c", actor: { kind: "member", id: "m1" }, documentId: "d" } }, label)).toBe(
      "userdocument.approved by publisher (m1…): documentId=d",
    );
  });
});
