// The clean-room run end to end on the embedded engine (issue 5): the agent, in this process on the virtual
// platform, reaches governance only through its attested link, releases the owners' keys, reads their encrypted
// Parquet from local folders, runs the approved query and commits the encrypted result to the sink, or refuses
// with the reference's codes and an audit event. Each scenario builds its own query over shared datasets.
import { appendFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatasetField, QuerySpecification, RunStatus } from "@cleanroom/protocol";
import { readParquetWithDuckDb } from "../../packages/parquet-crypto/src/read-back.case.js";
import {
  agentErrorCode,
  CONTRACT,
  createQuery,
  publishDataset,
  publishSink,
  startCleanRoom,
  type CleanRoom,
} from "../support/clean-room.js";

const IMPRESSION_FIELDS: DatasetField[] = [
  { name: "user_id", type: "string" },
  { name: "campaign", type: "string" },
  { name: "day", type: "date" },
  { name: "secret_note", type: "string" },
];
const CONVERSION_FIELDS: DatasetField[] = [
  { name: "user_id", type: "string" },
  { name: "campaign", type: "string" },
  { name: "revenue", type: "long" },
];
const RESULT_FIELDS: DatasetField[] = [
  { name: "campaign", type: "string" },
  { name: "users", type: "long" },
  { name: "revenue", type: "long" },
];

// 40 users saw campaign c1, 30 saw c2; users 0-24 converted on c1 (10 each), users 100-104 on c2.
const impressions = [
  ...Array.from({ length: 40 }, (_, i) => [`u${i}`, "c1", "2026-11-01", "hidden"]),
  ...Array.from({ length: 30 }, (_, i) => [`u${100 + i}`, "c2", "2026-11-02", "hidden"]),
];
const conversions = [...Array.from({ length: 25 }, (_, i) => [`u${i}`, "c1", 10]), ...Array.from({ length: 5 }, (_, i) => [`u${100 + i}`, "c2", 7])];

const JOIN_SQL =
  "SELECT i.campaign AS campaign, COUNT(DISTINCT c.user_id) AS users, SUM(c.revenue) AS revenue " +
  "FROM impressions i JOIN conversions c ON i.user_id = c.user_id AND i.campaign = c.campaign GROUP BY i.campaign";

let room: CleanRoom;
let sinkFolder: string;
let impressionsFolder: string;
/**
 * Revokes consent at the agent's consent check before commit: the only check made while the run is RUNNING (the
 * checks of a submission come before the run exists).
 */
let revokeDuringRun: { runId: string; documentId: string; revoke: () => Promise<void> } | undefined;

function runIsRunning(runId: string): boolean {
  try {
    return room.agent.manager.status(runId).state === "RUNNING";
  } catch {
    return false;
  }
}

function query(statement = JOIN_SQL, extra: Partial<QuerySpecification["segments"][number]> = {}): QuerySpecification {
  return {
    inputs: [
      { dataset: "impressions", view: "impressions" },
      { dataset: "conversions", view: "conversions" },
    ],
    output: { sink: "results" },
    segments: [{ executionSequence: 1, statement, ...extra }],
  };
}

/** A query approved by both owners (publisher owns impressions and the sink, advertiser owns conversions). */
async function approvedQuery(id: string, spec: QuerySpecification = query()): Promise<void> {
  const document = await createQuery(room, room.operator, id, spec, [room.publisher, room.advertiser]);
  expect(document.state).toBe("Accepted");
}

async function runToEnd(queryId: string, request: Parameters<ReturnType<CleanRoom["clientFor"]>["run"]>[1] = {}): Promise<RunStatus> {
  const client = room.clientFor(room.operator);
  const submitted = await client.run(queryId, request);
  expect(submitted).toMatchObject({ status: "success", queryId });
  return client.waitForRun(submitted.id, { intervalMs: 20 });
}

async function auditMessages(): Promise<string[]> {
  const list = await room.publisher.client.events(CONTRACT, { fromSeqno: 1 });
  return list.value.map((event) => JSON.stringify(event.data));
}

function sinkFiles(): string[] {
  if (!existsSync(sinkFolder)) return [];
  const files: string[] = [];
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(folder, entry.name));
      else files.push(join(folder, entry.name).slice(sinkFolder.length + 1));
    }
  };
  walk(sinkFolder);
  return files.sort();
}

beforeAll(async () => {
  room = await startCleanRoom({
    wrapPort: (port) => ({
      ...port,
      async documentConsent(documentId, option) {
        const hook = revokeDuringRun;
        if (hook && documentId === hook.documentId && runIsRunning(hook.runId)) {
          revokeDuringRun = undefined;
          await hook.revoke();
        }
        return port.documentConsent(documentId, option);
      },
    }),
  });
  impressionsFolder = (await publishDataset(room, room.publisher, "impressions", { fields: IMPRESSION_FIELDS, allowedFields: ["user_id", "campaign", "day"], rows: impressions })).folder;
  await publishDataset(room, room.advertiser, "conversions", { fields: CONVERSION_FIELDS, rows: conversions });
  sinkFolder = (await publishSink(room, room.publisher, "results", RESULT_FIELDS)).folder;
}, 120_000);
afterAll(async () => {
  await room?.close();
});

describe("a clean-room run", () => {
  it("runs an approved two-party join and commits the encrypted result under <contract>/<day>/<runId>/", async () => {
    await approvedQuery("q-join");
    const status = await runToEnd("q-join", { runId: "run-1" });
    expect(status.state, JSON.stringify(status.error)).toBe("COMPLETED");
    expect(status.stats).toMatchObject({ rowsRead: 100, rowsWritten: 2 });
    const day = status.submittedAt.slice(0, 10);
    expect(status.output).toEqual({ sink: "results", location: sinkFolder, path: `${CONTRACT}/${day}/run-1`, objects: [`${CONTRACT}/${day}/run-1/part-00000.parquet`] });
    expect(sinkFiles()).toEqual([`${CONTRACT}/${day}/run-1/part-00000.parquet`]);
    const file = join(sinkFolder, status.output!.objects[0]!);
    const rows = await readParquetWithDuckDb(file, room.keys.get("results"), "*", "ORDER BY campaign");
    expect(rows).toEqual([
      { campaign: "c1", users: "25", revenue: "250" },
      { campaign: "c2", users: "5", revenue: "35" },
    ]);
    // Encrypted under the sink owner's key: unreadable without it.
    await expect(readParquetWithDuckDb(file, undefined)).rejects.toThrow();
    // The reference's event catalogue, in order.
    const names = status.events.map((event) => `${event.category}:${event.name}`);
    expect(names).toEqual(
      expect.arrayContaining([
        "operational:DATASET_LOAD_STARTED",
        "operational:DATASET_LOAD_COMPLETED",
        "audit:DATASET_LOAD_COMPLETED",
        "operational:QUERY_SEGMENT_EXECUTION_STARTED",
        "operational:QUERY_SEGMENT_EXECUTION_COMPLETED",
        "operational:DATASET_WRITE_STARTED",
        "operational:DATASET_WRITE_COMPLETED",
        "audit:DATASET_WRITE_COMPLETED",
        "operational:QUERY_EXECUTION_COMPLETED",
        "audit:QUERY_COMPLETED",
        "statistics:QUERY_STATISTICS",
      ]),
    );
    expect(status.events.find((event) => event.name === "QUERY_SEGMENT_EXECUTION_COMPLETED")?.message).toBe("Event_1008 | Query segment in step 1 completed with 2 rows");
    // Audited on the contract's log by the attested agent: the start, and the engine's audit events.
    await expect.poll(auditMessages).toEqual(
      expect.arrayContaining([
        expect.stringContaining("Starting query execution for queryId: q-join. | job id: run-1."),
        expect.stringContaining("Event_QUERY_COMPLETED_3003 | Query execution completed successfully | job id: run-1"),
      ]),
    );
  });

  it("projects inputs to their allowed fields: a segment cannot read a column the owner withheld", async () => {
    await approvedQuery("q-withheld", query("SELECT campaign, COUNT(*) AS users, COUNT(secret_note) AS revenue FROM impressions GROUP BY campaign"));
    const status = await runToEnd("q-withheld");
    expect(status.state).toBe("FAILED");
    expect(status.error?.code).toBe("SegmentFailed");
    expect(status.error?.message).toContain("secret_note");
  });

  it("is idempotent on runId for the same query, and refuses a runId of another query", async () => {
    const client = room.clientFor(room.advertiser);
    const again = await client.run("q-join", { runId: "run-1" });
    expect(again).toMatchObject({ id: "run-1", runId: "run-1", state: "COMPLETED" });
    await approvedQuery("q-other");
    expect(await agentErrorCode(client.run("q-other", { runId: "run-1" }))).toBe("RunIdInUse");
  });

  it("records the run history when runs end, whether or not anybody polled", async () => {
    const client = room.clientFor(room.publisher);
    const submitted = await client.run("q-join", { runId: "run-unpolled" });
    await room.agent.manager.idle();
    const history = await client.runs("q-join");
    expect(history.runs.map((run) => run.runId)).toEqual(["run-unpolled", "run-1"]);
    expect(history.latestRun).toMatchObject({ runId: submitted.id, isSuccessful: true, error: null, stats: { rowsRead: 100, rowsWritten: 2 } });
    expect(history.summary).toMatchObject({ totalRuns: 2, successfulRuns: 2, failedRuns: 0, totalRowsRead: 200, totalRowsWritten: 4 });
    expect((await client.runs("never-ran")).summary.totalRuns).toBe(0);
  });

  it("resolves a dry run without running it", async () => {
    const answer = await room.clientFor(room.operator).run("q-join", { dryRun: true });
    expect(answer).toMatchObject({ status: "success", id: "none", dryRun: true });
    if (!("plan" in answer)) throw new Error("expected a plan");
    expect(answer.plan?.inputs.map((input) => [input.dataset, input.view, input.objects])).toEqual([
      ["impressions", "impressions", 1],
      ["conversions", "conversions", 1],
    ]);
    expect(answer.plan?.output).toMatchObject({ sink: "results", location: sinkFolder });
  });
});

describe("the run-time checks (reference §2.5), each audited", () => {
  it("refuses a query an owner has not approved: QueryMissingApprovalsFromDatasetOwners", async () => {
    await createQuery(room, room.operator, "q-half", query(), [room.publisher]);
    const client = room.clientFor(room.operator);
    await expect(client.run("q-half", { runId: "denied-1" })).rejects.toMatchObject({
      code: "QueryMissingApprovalsFromDatasetOwners",
      message: "Query 'q-half' requires approvals from the owners of the following datasets: conversions",
    });
    await expect.poll(auditMessages).toEqual(
      expect.arrayContaining([expect.stringContaining("Query execution denied for queryId q-half: Missing approvals from dataset owners: conversions | job id: denied-1.")]),
    );
    await expect(client.status("denied-1")).rejects.toMatchObject({ code: "RunNotFound" });
  });

  it("refuses when an owner disabled execution consent on a dataset, and runs again once re-enabled", async () => {
    await room.advertiser.client.setUserDocumentRuntimeOption(CONTRACT, "conversions", "execution", "disable");
    const client = room.clientFor(room.operator);
    try {
      const error = await client.run("q-join", { runId: "denied-2" }).catch((e: unknown) => e as { code: string; message: string });
      expect(error).toMatchObject({ code: "UserDocumentRuntimeOptionDisabled" });
      expect((error as { message: string }).message).toContain(room.advertiser.id);
      await expect.poll(auditMessages).toEqual(expect.arrayContaining([expect.stringContaining("Query execution denied for queryId q-join. Reason:")]));
    } finally {
      await room.advertiser.client.setUserDocumentRuntimeOption(CONTRACT, "conversions", "execution", "enable");
    }
    expect((await runToEnd("q-join", { runId: "after-enable" })).state).toBe("COMPLETED");
  });

  it("refuses when consent is disabled on the query, on the sink or on the contract", async () => {
    const client = room.clientFor(room.operator);
    await room.publisher.client.setUserDocumentRuntimeOption(CONTRACT, "q-join", "execution", "disable");
    expect(await agentErrorCode(client.run("q-join"))).toBe("UserDocumentRuntimeOptionDisabled");
    await room.publisher.client.setUserDocumentRuntimeOption(CONTRACT, "q-join", "execution", "enable");
    await room.publisher.client.setUserDocumentRuntimeOption(CONTRACT, "results", "execution", "disable");
    expect(await agentErrorCode(client.run("q-join"))).toBe("UserDocumentRuntimeOptionDisabled");
    await room.publisher.client.setUserDocumentRuntimeOption(CONTRACT, "results", "execution", "enable");
    await room.operator.client.setContractRuntimeOption(CONTRACT, "execution", "disable");
    expect(await agentErrorCode(client.run("q-join"))).toBe("ContractDisabled");
    await room.operator.client.setContractRuntimeOption(CONTRACT, "execution", "enable");
  });

  it("refuses unknown and unapproved queries, and bad dates", async () => {
    const client = room.clientFor(room.operator);
    expect(await agentErrorCode(client.run("no-such-query"))).toBe("QueryNotFound");
    expect(await agentErrorCode(client.run("q-join", { startDate: "2026-11-01" }))).toBe("InvalidDateRange");
    expect(await agentErrorCode(client.run("q-join", { startDate: "2026-11-05", endDate: "2026-11-01" }))).toBe("InvalidDateRange");
    expect(await agentErrorCode(client.run("q-join", { startDate: "2026-11-01T10:00:00Z", endDate: "2026-11-02" }))).toBe("InvalidDateFormat");
    expect(await agentErrorCode(client.run("q-join", { startDate: "2026-02-30", endDate: "2026-03-01" }))).toBe("InvalidDateFormat");
    expect(await agentErrorCode(client.run("q-join", { runId: "../etc" }))).toBe("InvalidInput");
  });

  it("accepts only active members and users", async () => {
    const { AgentClient } = await import("@cleanroom/agent-client");
    const anonymous = new AgentClient({ url: room.agent.url, serviceCertificatePem: room.agent.certificatePem });
    const { makeIdentity } = await import("../support/consortium.js");
    const stranger = await makeIdentity("stranger");
    const strangerClient = new AgentClient({ url: room.agent.url, serviceCertificatePem: room.agent.certificatePem, certificatePem: stranger.certificatePem, privateKeyPem: stranger.keys.privateKeyPem });
    const badToken = new AgentClient({ url: room.agent.url, serviceCertificatePem: room.agent.certificatePem, token: "not-a-jwt" });
    try {
      expect(await agentErrorCode(anonymous.run("q-join"))).toBe("InvalidAuthenticationInfo");
      expect(await agentErrorCode(strangerClient.run("q-join"))).toBe("CertificateNotRegistered");
      expect(await agentErrorCode(badToken.status("run-1"))).toBe("InvalidAuthenticationInfo");
      expect(await anonymous.info()).toMatchObject({ contractId: CONTRACT, engine: "duckdb", attestationMode: "virtual-platform" });
    } finally {
      anonymous.close();
      strangerClient.close();
      badToken.close();
    }
  });
});

describe("JWT users", () => {
  it("may run and poll with a token of a trusted issuer once registered; an unregistered user may not", async () => {
    const { startOidcProvider } = await import("../support/oidc-provider.js");
    const { enact } = await import("../support/app-fixtures.js");
    const { AgentClient } = await import("@cleanroom/agent-client");
    const alice = { clientId: "alice", oid: "oid-alice", tid: "tenant-alice" };
    const mallory = { clientId: "mallory", oid: "oid-mallory", tid: "tenant-alice" };
    const idp = await startOidcProvider({ clients: [alice, mallory] });
    try {
      await enact(room.consortium, [
        { name: "set_jwt_issuer", args: { issuer: idp.issuer, auto_refresh: true, ca_cert_bundle: idp.certificatePem } },
        { name: "set_user_identity", args: { id: alice.oid, data: { tenantId: alice.tid } } },
      ]);
      const asUser = (clientId: string) => new AgentClient({ url: room.agent.url, serviceCertificatePem: room.agent.certificatePem, token: () => idp.token(clientId) });
      const aliceClient = asUser(alice.clientId);
      const malloryClient = asUser(mallory.clientId);
      try {
        const submitted = await aliceClient.run("q-join", { runId: "by-alice" });
        const status = await aliceClient.waitForRun(submitted.id, { intervalMs: 20 });
        expect(status).toMatchObject({ state: "COMPLETED", submittedBy: { kind: "user", id: alice.oid } });
        expect(await agentErrorCode(malloryClient.status("by-alice"))).toBe("CallerNotAuthorized");
      } finally {
        aliceClient.close();
        malloryClient.close();
      }
    } finally {
      await idp.stop();
    }
  });
});

describe("failed runs commit nothing", () => {
  it("fails the k-min guard (preConditions) before the segment runs", async () => {
    await approvedQuery("q-kmin", query(JOIN_SQL, { preConditions: [{ viewName: "conversions", minRowCount: 1000 }] }));
    const before = sinkFiles();
    const status = await runToEnd("q-kmin", { runId: "kmin-1" });
    expect(status.state).toBe("FAILED");
    expect(status.error).toEqual({ code: "PreConditionFailed", message: "Pre-segment enforcement failed for view conversions: row count 30 is less than minRowCount 1000" });
    expect(sinkFiles()).toEqual(before);
    expect((await room.clientFor(room.operator).runs("q-kmin")).latestRun).toMatchObject({ isSuccessful: false, error: { code: "PreConditionFailed" } });
  });

  it("applies post-filters to the result", async () => {
    await approvedQuery("q-postfilter", query(JOIN_SQL, { postFilters: [{ columnName: "users", value: 10 }] }));
    const status = await runToEnd("q-postfilter");
    expect(status.state).toBe("COMPLETED");
    expect(await readParquetWithDuckDb(join(sinkFolder, status.output!.objects[0]!), room.keys.get("results"), "campaign")).toEqual([{ campaign: "c1" }]);
  });

  it("refuses SQL that reaches beyond the job's views (another dataset's file, COPY, ATTACH, INSTALL, SET, PRAGMA)", async () => {
    const attempts = [
      `SELECT * FROM read_parquet('${impressionsFolder}/part-0.parquet')`,
      `SELECT * FROM read_csv('${impressionsFolder}/part-0.parquet')`,
      "COPY (SELECT * FROM impressions) TO '/tmp/leak.csv'",
      "ATTACH '/tmp/other.db' AS other",
      "INSTALL httpfs",
      "LOAD httpfs",
      "SET enable_external_access = true",
      "PRAGMA enable_profiling",
    ];
    for (const [index, statement] of attempts.entries()) {
      await approvedQuery(`q-escape-${index}`, query(statement));
      const status = await runToEnd(`q-escape-${index}`);
      expect(status.state, statement).toBe("FAILED");
      expect(["StatementNotAllowed", "SegmentProgramInvalid"], `${statement}: ${status.error?.code}`).toContain(status.error?.code);
    }
    expect(existsSync("/tmp/leak.csv")).toBe(false);
  });

  it("fails a view the query does not map", async () => {
    await createQuery(room, room.operator, "q-unmapped", { ...query("SELECT campaign, 1 AS users, 2 AS revenue FROM conversions"), inputs: [{ dataset: "impressions", view: "impressions" }] }, [room.publisher]);
    const status = await runToEnd("q-unmapped");
    expect(status.state).toBe("FAILED");
    expect(status.error?.code).toBe("SegmentFailed");
    expect(status.error?.message).toMatch(/conversions/);
  });

  it("fails a result that does not match the sink's schema", async () => {
    await approvedQuery("q-mismatch", query("SELECT campaign, 'many' AS users, 1 AS revenue FROM impressions GROUP BY campaign"));
    const status = await runToEnd("q-mismatch");
    expect(status.state).toBe("FAILED");
    expect(status.error?.code).toBe("SinkSchemaMismatch");
  });

  it("fails with an integrity error on tampered ciphertext, and writes nothing", async () => {
    const file = join(impressionsFolder, "part-0.parquet");
    const original = readFileSync(file);
    // Pages are authenticated when read, and runs read only the columns they use (the engine's views are lazy):
    // one flipped byte in each tenth of the file reaches every column chunk, the footer too.
    const tampered = Buffer.from(original);
    for (let tenth = 1; tenth < 10; tenth++) tampered[Math.floor((tampered.length * tenth) / 10)]! ^= 0x01;
    writeFileSync(file, tampered);
    const before = sinkFiles();
    try {
      const status = await runToEnd("q-join", { runId: "tampered" });
      expect(status.state).toBe("FAILED");
      expect(status.error?.code).toBe("DatasetIntegrityCheckFailed");
      expect(sinkFiles()).toEqual(before);
    } finally {
      writeFileSync(file, original);
    }
  });

  it("commits nothing when consent is revoked while the run is in progress", async () => {
    const before = sinkFiles();
    revokeDuringRun = {
      runId: "revoked",
      documentId: "impressions",
      revoke: async () => {
        await room.publisher.client.setUserDocumentRuntimeOption(CONTRACT, "impressions", "execution", "disable");
      },
    };
    try {
      const status = await runToEnd("q-join", { runId: "revoked" });
      expect(status.state).toBe("FAILED");
      expect(status.error?.code).toBe("ConsentRevoked");
      expect(status.error?.message).toContain("UserDocument runtime option");
      expect(sinkFiles()).toEqual(before);
    } finally {
      revokeDuringRun = undefined;
      await room.publisher.client.setUserDocumentRuntimeOption(CONTRACT, "impressions", "execution", "enable");
    }
  });

  it("fails on unreadable input data with a clear error", async () => {
    const junk = join(impressionsFolder, "zz-junk.parquet");
    appendFileSync(junk, "not parquet");
    try {
      const status = await runToEnd("q-join", { runId: "junk" });
      expect(status.state).toBe("FAILED");
      expect(["DatasetLoadFailed", "DatasetIntegrityCheckFailed"]).toContain(status.error?.code);
    } finally {
      const { rmSync } = await import("node:fs");
      rmSync(junk);
    }
  });
});

describe("date partitions", () => {
  it("reads only the day folders of the requested range, and everything without one", async () => {
    await publishDataset(room, room.advertiser, "daily-conversions", {
      fields: CONVERSION_FIELDS,
      day: "2026-11-01",
      rows: [["u0", "c1", 1]],
      alsoDays: [
        { day: "2026-11-02", rows: [["u1", "c1", 2], ["u2", "c1", 2]] },
        { day: "2026-11-04", rows: [["u3", "c1", 4], ["u4", "c1", 4], ["u5", "c1", 4], ["u6", "c1", 4]] },
      ],
    });
    const spec = query();
    spec.inputs[1] = { dataset: "daily-conversions", view: "conversions" };
    await approvedQuery("q-daily", spec);
    const ranged = await runToEnd("q-daily", { startDate: "2026-11-02", endDate: "2026-11-03T00:00:00Z" });
    expect(ranged.state, JSON.stringify(ranged.error)).toBe("COMPLETED");
    expect(ranged.stats?.rowsRead).toBe(70 + 2);
    expect(ranged).toMatchObject({ startDate: "2026-11-02", endDate: "2026-11-03" });
    expect(ranged.events.find((event) => event.name === "DATASET_LOAD_STARTED")?.message).toContain("for start_date: 2026-11-02, end_date: 2026-11-03");
    const whole = await runToEnd("q-daily");
    expect(whole.stats?.rowsRead).toBe(70 + 7);
    // No day folder in the range at all: the reference falls back to the whole dataset.
    const fallback = await runToEnd("q-daily", { startDate: "2025-01-01", endDate: "2025-01-02" });
    expect(fallback.stats?.rowsRead).toBe(70 + 7);
  });
});

describe("the agent's API description", () => {
  it("serves its OpenAPI document, the committed copy of which is current", async () => {
    const { get } = await import("node:https");
    const served = await new Promise<unknown>((resolve, reject) => {
      get(`${room.agent.url}/openapi.json`, { ca: room.agent.certificatePem }, (response) => {
        let text = "";
        response.on("data", (chunk: Buffer) => (text += chunk.toString()));
        response.on("end", () => resolve(JSON.parse(text)));
      }).on("error", reject);
    });
    expect(Object.keys((served as { paths: Record<string, unknown> }).paths).sort()).toEqual(["/info", "/queries/{queryId}/run", "/queries/{queryId}/runs", "/status/{jobId}"]);
    // Regenerated by `npm run docs`.
    const { repoRoot } = await import("../support/repo-root.js");
    expect(served).toEqual(JSON.parse(readFileSync(join(repoRoot(), "docs", "openapi", "agent.json"), "utf8")));
  });
});
