import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSelfSignedCertificate, generateP384KeyPair } from "@cleanroom/crypto";
import { writeParquet } from "@cleanroom/parquet-crypto";
import type { AgentInfo, RunEvent, RunHistory, RunStatus } from "@cleanroom/protocol";
import { acceptContract } from "../support/app-fixtures.js";
import { cli, type CliResult } from "../support/cli.js";
import { startConsortium, type Consortium } from "../support/consortium.js";

// `query run|status|runs` and `results download` against a stand-in agent that answers with canned statuses: the
// CLI's side of the agent API (progress, exit codes, output) without the agent. The agent itself is tested end to end
// in test/agent.

const CONTRACT = "ads";

let consortium: Consortium;
let agent: Server;
let work: string;
let home: string;
let storage: string;
const requests: Array<{ method: string; url: string; body: unknown }> = [];
const polls = new Map<string, number>();

const run = (...args: string[]) => cli(args, { home, cwd: work });
const runAs = (profile: string, ...args: string[]) => run("--profile", profile, ...args);

function ok(result: CliResult): CliResult {
  expect(result.stderr.includes("error:") ? result.stderr : "", `exit ${result.code}`).toBe("");
  expect(result.code, result.stderr).toBe(0);
  return result;
}

function event(seq: number, category: RunEvent["category"], eventId: number, name: string, message: string): RunEvent {
  return { seq, timestamp: `2026-01-05T10:00:0${seq}.000Z`, category, name, eventId, message, data: {} };
}

const EVENTS: RunEvent[] = [
  event(1, "operational", 1001, "DATASET_LOAD_STARTED", "Event_1001 | Started loading dataset impressions from /data for start_date: , end_date: "),
  event(2, "audit", 3001, "DATASET_LOAD_COMPLETED", "Event_DATASET_LOAD_COMPLETED_3001 | Dataset: impressions load completed successfully | job id: run-ok"),
  event(3, "operational", 1008, "QUERY_SEGMENT_EXECUTION_COMPLETED", "Event_1008 | Query segment in step 1 completed with 2 rows"),
  event(4, "operational", 1005, "DATASET_WRITE_COMPLETED", "Event_1005 | Output to datasink campaign-results written successfully at /sink with 2 rows"),
];

function status(runId: string, state: RunStatus["state"], events: RunEvent[], extra: Partial<RunStatus> = {}): RunStatus {
  return {
    id: runId,
    runId,
    queryId: "q1",
    contractId: CONTRACT,
    state,
    submittedBy: { kind: "member", id: "abc" },
    submittedAt: "2026-01-05T10:00:00.000Z",
    startedAt: "2026-01-05T10:00:01.000Z",
    events,
    ...extra,
  };
}

/** The statuses a run goes through, one per poll (the last repeats). */
function statuses(runId: string): RunStatus[] {
  const output = { sink: "results", location: join(storage, "sink"), path: `${CONTRACT}/2026-01-05/${runId}`, objects: [`${CONTRACT}/2026-01-05/${runId}/part-00000.parquet`] };
  switch (runId) {
    case "run-ok":
      return [
        status(runId, "SUBMITTED", []),
        status(runId, "RUNNING", EVENTS.slice(0, 2)),
        status(runId, "COMPLETED", EVENTS, { endedAt: "2026-01-05T10:00:03.500Z", stats: { rowsRead: 5, rowsWritten: 2, durationSec: 2.5 }, output }),
      ];
    case "run-bad":
      return [
        status(runId, "RUNNING", EVENTS.slice(0, 1)),
        status(runId, "FAILED", [...EVENTS.slice(0, 1), event(2, "operational", 1012, "QUERY_EXECUTION_FAILED", "Event_1012 | Query execution failed: too few rows")], {
          endedAt: "2026-01-05T10:00:02.000Z",
          error: { code: "PreConditionFailed", message: "view impressions has 3 rows, fewer than 100" },
        }),
      ];
    case "run-elsewhere":
      return [status(runId, "COMPLETED", [], { output: { ...output, sink: "other" } })];
    default:
      return [];
  }
}

const HISTORY: RunHistory = {
  queryId: "q1",
  latestRun: null,
  runs: [
    { runId: "run-bad", startTime: "2026-01-05T11:00:00Z", endTime: "2026-01-05T11:00:02Z", durationSeconds: 2, isSuccessful: false, error: { code: "PreConditionFailed", message: "x" }, stats: { rowsRead: 3, rowsWritten: 0 } },
    { runId: "run-ok", startTime: "2026-01-05T10:00:00Z", endTime: "2026-01-05T10:00:03Z", durationSeconds: 3.5, isSuccessful: true, error: null, stats: { rowsRead: 5, rowsWritten: 2 } },
  ],
  summary: { totalRuns: 2, successfulRuns: 1, failedRuns: 1, totalRuntimeSeconds: 5.5, avgDurationSeconds: 2.75, totalRowsRead: 8, totalRowsWritten: 2 },
};

function answer(method: string, url: string, body: unknown): { status: number; json: unknown } {
  const info: AgentInfo = { contractId: CONTRACT, engine: "duckdb", attestationMode: "virtual-platform", hostData: "00".repeat(32), governanceUrl: consortium.service.url };
  if (method === "GET" && url === "/info") return { status: 200, json: info };
  if (method === "GET" && url === "/queries/q1/runs") return { status: 200, json: HISTORY };
  const statusMatch = /^\/status\/([^/]+)$/.exec(url);
  if (method === "GET" && statusMatch) {
    const id = decodeURIComponent(statusMatch[1]!);
    const sequence = statuses(id);
    if (sequence.length === 0) return { status: 404, json: { error: { code: "JobNotFound", message: `No job ${id}.` } } };
    const count = polls.get(id) ?? 0;
    polls.set(id, count + 1);
    return { status: 200, json: sequence[Math.min(count, sequence.length - 1)] };
  }
  if (method === "POST" && url === "/queries/q1/run") {
    const request = body as { runId?: string; dryRun?: boolean };
    if (request.dryRun) {
      return {
        status: 200,
        json: {
          status: "success",
          id: "none",
          runId: "none",
          queryId: "q1",
          dryRun: true,
          plan: {
            contractId: CONTRACT,
            inputs: [{ dataset: "impressions", version: "2.10", view: "impressions", location: "/data/impressions", objects: 2, bytes: 2048 }],
            output: { sink: "results", version: "2.12", location: "/sink", path: `${CONTRACT}/2026-01-05/none` },
          },
        },
      };
    }
    const runId = request.runId ?? "run-ok";
    return { status: 200, json: { status: "success", id: runId, runId, queryId: "q1", state: "SUBMITTED" } };
  }
  if (method === "POST" && url === "/queries/q-missing/run") return { status: 404, json: { error: { code: "QueryNotFound", message: "Query q-missing was not found." } } };
  return { status: 404, json: { error: { code: "NotFound", message: url } } };
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "cleanroom-agent-cli-"));
  home = join(work, "home");
  storage = join(work, "storage");
  consortium = await startConsortium({ members: ["owner", "other"] });
  await acceptContract(consortium, CONTRACT);

  const keys = generateP384KeyPair();
  const certificate = await createSelfSignedCertificate(keys, { commonName: "stand-in agent", ipAddresses: ["127.0.0.1"] });
  writeFileSync(join(work, "agent_cert.pem"), certificate);
  agent = createServer({ key: keys.privateKeyPem, cert: certificate }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      const body: unknown = text ? JSON.parse(text) : undefined;
      requests.push({ method: req.method ?? "", url: req.url ?? "", body });
      const { status: code, json } = answer(req.method ?? "", req.url ?? "", body);
      res.writeHead(code, { "content-type": "application/json" }).end(JSON.stringify(json));
    });
  });
  await new Promise<void>((resolve) => agent.listen(0, "127.0.0.1", resolve));
  const agentUrl = `https://127.0.0.1:${(agent.address() as AddressInfo).port}`;

  writeFileSync(join(work, "service_cert.pem"), consortium.service.serviceCertificatePem);
  for (const member of consortium.members) {
    writeFileSync(join(work, `${member.name}_cert.pem`), member.certificatePem);
    writeFileSync(join(work, `${member.name}_privk.pem`), member.keys.privateKeyPem);
    ok(
      await run(
        "profile",
        "create",
        member.name,
        "--service-url",
        consortium.service.url,
        "--service-cert",
        "service_cert.pem",
        "--cert",
        `${member.name}_cert.pem`,
        "--key",
        `${member.name}_privk.pem`,
        "--agent-url",
        agentUrl,
        "--agent-cert",
        "agent_cert.pem",
      ),
    );
  }

  // The owner's sink, and a run's result in it where the status says.
  ok(await runAs("owner", "sink", "publish", "--contract-id", CONTRACT, "--name", "campaign-results", "--id", "results", "--fields", "campaign_id:long,conversions:long", "--local-path", join(storage, "sink")));
  const folder = join(storage, "sink", CONTRACT, "2026-01-05", "run-ok");
  mkdirSync(folder, { recursive: true });
  const { key } = JSON.parse(readFileSync(join(home, "keys", "owner", CONTRACT, "results.json"), "utf8")) as { key: string };
  await writeParquet({
    input: { format: "csv", stream: Readable.from(["10,3\n11,1\n"]) },
    fields: [
      { name: "campaign_id", type: "long" },
      { name: "conversions", type: "long" },
    ],
    outputPath: join(folder, "part-00000.parquet"),
    key: Buffer.from(key, "base64"),
  });
});

afterAll(async () => {
  await new Promise((resolve) => agent.close(resolve));
  await consortium.close();
  rmSync(work, { recursive: true, force: true });
});

describe("query run", () => {
  it("follows a run to completion, showing each new event once, then prints its status", async () => {
    polls.clear();
    const result = ok(await runAs("owner", "query", "run", "--contract-id", CONTRACT, "--id", "q1", "--start-date", "2026-01-05", "--end-date", "2026-01-05"));
    expect(requests.find((r) => r.url === "/queries/q1/run")?.body).toEqual({ startDate: "2026-01-05", endDate: "2026-01-05" });
    expect(result.stderr).toBe(
      [
        "run run-ok: SUBMITTED",
        "run run-ok: RUNNING",
        "  10:00:01  Started loading dataset impressions from /data for start_date: , end_date: ",
        "run run-ok: COMPLETED",
        "  10:00:03  Query segment in step 1 completed with 2 rows",
        "  10:00:04  Output to datasink campaign-results written successfully at /sink with 2 rows",
        "",
      ].join("\n"),
    );
    expect(result.stdout).toMatch(/^runId\s+run-ok\n/);
    expect(result.stdout).toMatch(/state\s+COMPLETED\n/);
    expect(result.stdout).toMatch(/duration\s+2\.5 s\n/);
    expect(result.stdout).toMatch(/rowsWritten\s+2\n/);
    expect(result.stdout).toMatch(/output\s+.*\/sink\/ads\/2026-01-05\/run-ok\/ \(sink results; 1 object\(s\)\)/);
  });

  it("exits 1 with the error when the run fails, and prints the full status as JSON", async () => {
    polls.clear();
    const result = await runAs("owner", "-o", "json", "query", "run", "--contract-id", CONTRACT, "--id", "q1", "--run-id", "run-bad");
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/ {2}10:00:02 {2}Query execution failed: too few rows\n/);
    expect(result.stderr).toMatch(/error: run run-bad FAILED: PreConditionFailed: view impressions has 3 rows, fewer than 100\n$/);
    expect(result.json<RunStatus>()).toMatchObject({ runId: "run-bad", state: "FAILED", error: { code: "PreConditionFailed" } });
  });

  it("returns at once with --no-wait, and shows the plan of a dry run", async () => {
    const submitted = ok(await runAs("owner", "query", "run", "--contract-id", CONTRACT, "--id", "q1", "--run-id", "run-later", "--no-wait"));
    expect(submitted.stdout).toMatch(/runId\s+run-later\njobId\s+run-later\nquery\s+q1\nstate\s+SUBMITTED\n/);
    expect(submitted.stderr).toMatch(/follow it with: cleanroom query status --job-id run-later/);
    const dry = ok(await runAs("owner", "query", "run", "--contract-id", CONTRACT, "--id", "q1", "--dry-run"));
    expect(requests.at(-1)?.body).toEqual({ dryRun: true });
    expect(dry.stdout).toMatch(/^dry run of contract ads: every check passed; nothing was run\n\nDATASET\s+VERSION\s+VIEW\s+LOCATION\s+OBJECTS\s+SIZE\n/);
    expect(dry.stdout).toMatch(/impressions\s+2\.10\s+impressions\s+\/data\/impressions\s+2\s+2\.0 KiB\n/);
    expect(dry.stdout).toMatch(/output: sink results \(version 2\.12\) at \/sink\/ads\/2026-01-05\/none\//);
  });

  it("reports the agent's errors and a contract the agent does not serve", async () => {
    const missing = await runAs("owner", "query", "run", "--contract-id", CONTRACT, "--id", "q-missing");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe("error: QueryNotFound (HTTP 404): Query q-missing was not found.\n");
    const elsewhere = await runAs("owner", "query", "run", "--contract-id", "other", "--id", "q1");
    expect(elsewhere.code).toBe(1);
    expect(elsewhere.stderr).toMatch(/runs queries of contract ads, not other\.\n$/);
  });
});

describe("query status and runs", () => {
  it("shows a run's status with its events", async () => {
    polls.set("run-ok", 5);
    const shown = ok(await runAs("owner", "query", "status", "--run-id", "run-ok")).stdout;
    expect(shown).toMatch(/state\s+COMPLETED\n/);
    expect(shown).toMatch(/TIME\s+CATEGORY\s+EVENT\s+MESSAGE\n/);
    expect(shown).toMatch(/2026-01-05T10:00:02\.000Z\s+audit\s+3001 DATASET_LOAD_COMPLETED\s+Dataset: impressions load completed successfully \| job id: run-ok\n/);
    const json = ok(await runAs("owner", "-o", "json", "query", "status", "--job-id", "run-ok")).json<RunStatus>();
    expect(json.events).toHaveLength(4);
    const unknown = await runAs("owner", "query", "status", "--job-id", "nope");
    expect(unknown.stderr).toBe("error: JobNotFound (HTTP 404): No job nope.\n");
  });

  it("lists a query's runs with a summary", async () => {
    const table = ok(await runAs("owner", "query", "runs", "--contract-id", CONTRACT, "--id", "q1")).stdout;
    expect(table).toMatch(/^RUN ID\s+STARTED\s+DURATION\s+RESULT\s+ROWS READ\s+ROWS WRITTEN\n/);
    expect(table).toMatch(/run-bad\s+2026-01-05T11:00:00Z\s+2\.0 s\s+FAILED PreConditionFailed\s+3\s+0\n/);
    expect(table).toMatch(/run-ok\s+2026-01-05T10:00:00Z\s+3\.5 s\s+succeeded\s+5\s+2\n/);
    expect(table).toMatch(/totalRuns\s+2\nsuccessful\s+1\nfailed\s+1\ntotalRuntime\s+5\.5 s\naverageDuration\s+2\.8 s\nrowsRead\s+8\nrowsWritten\s+2\n$/);
    expect(ok(await runAs("owner", "-o", "json", "query", "runs", "--contract-id", CONTRACT, "--id", "q1")).json()).toEqual(HISTORY);
  });
});

describe("results download with an agent", () => {
  it("reads the output objects the agent's status names", async () => {
    polls.set("run-ok", 5);
    requests.length = 0;
    const result = ok(await runAs("owner", "results", "download", "--contract-id", CONTRACT, "--sink", "results", "--job-id", "run-ok"));
    expect(requests.map((r) => r.url)).toEqual(["/status/run-ok"]);
    expect(result.stdout).toBe(["campaign_id  conversions", "-----------  -----------", "10           3", "11           1", "2 rows", ""].join("\n"));
  });

  it("refuses runs that failed or wrote elsewhere, and falls back to the sink when the agent does not know the run", async () => {
    polls.set("run-bad", 5);
    const failed = await runAs("owner", "results", "download", "--contract-id", CONTRACT, "--sink", "results", "--job-id", "run-bad");
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/^error: Run run-bad FAILED \(PreConditionFailed: view impressions has 3 rows, fewer than 100\): it wrote no results\.\n$/);
    const elsewhere = await runAs("owner", "results", "download", "--contract-id", CONTRACT, "--sink", "results", "--job-id", "run-elsewhere");
    expect(elsewhere.stderr).toMatch(/Run run-elsewhere wrote to sink other, not results/);
    const unknown = await runAs("owner", "results", "download", "--contract-id", CONTRACT, "--sink", "results", "--job-id", "run-gone");
    expect(unknown.stderr).toMatch(/the agent could not tell where run run-gone wrote \(No job run-gone\.\); looking for it in the sink\nerror: No results of run run-gone/);
  });

  it("needs the owner's key", async () => {
    const other = await runAs("other", "results", "download", "--contract-id", CONTRACT, "--sink", "results", "--job-id", "run-ok");
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/Profile 'other' has no key for sink results .*\(owner \(.{8}…\) \(member\)\)/);
  });
});
