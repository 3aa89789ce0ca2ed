// The clean-room half of the analytics benchmark: a real local stack (`cleanroom up`: the governance service and the
// agent as processes of their own, the agent on the virtual platform), set up as the demo does, with the two dataset
// documents over the benchmark's ENCRYPTED folders and their key held as the owners' governance secrets. Each run is
// timed from `POST /queries/{id}/run` to the status COMPLETED, i.e. output committed to the sink.
import { randomBytes } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { AgentClient } from "@cleanroom/agent-client";
import { DEMO_CONTRACT, Demo, establishCollaboration, operatorIdentity, runCli, stackDown, stackUp } from "@cleanroom/cli";
import { GovernanceClient } from "@cleanroom/governance-client";
import type { DatasetSpecification, DatasinkSpecification, QuerySpecification, RunStatus } from "@cleanroom/protocol";
import { ADTECH_FIELDS } from "../../packages/cli/src/demo/adtech-data.js";
import { peakRssOf } from "./baseline.js";
import { DATASETS } from "./data.js";
import type { CleanRoomInput, CleanRoomResult, CleanRoomRun } from "./run.js";

const OWNERS = { impressions: "publisher", conversions: "advertiser" } as const;

function clientOf(work: string, serviceCertificate: string, url: string, name: string): GovernanceClient {
  return new GovernanceClient({
    url,
    serviceCertificatePem: readFileSync(serviceCertificate, "utf8"),
    certificatePem: readFileSync(join(work, `${name}_cert.pem`), "utf8"),
    privateKeyPem: readFileSync(join(work, `${name}_privk.pem`), "utf8"),
  });
}

/** Where a run's time went: each event's offset from the submission, for BENCH_TRACE=1. */
function timeline(status: RunStatus): string {
  const submitted = Date.parse(status.submittedAt);
  return status.events.map((event) => `  +${String(Date.parse(event.timestamp) - submitted).padStart(6)} ms ${event.name}${event.data.viewName ? ` ${event.data.viewName}` : ""}`).join("\n");
}

export async function runCleanRoomSession(input: CleanRoomInput): Promise<CleanRoomResult> {
  const { data, workDir } = input;
  const stackDir = join(workDir, "stack");
  const quiet = { stdout: () => undefined, stderr: () => undefined, env: { ...process.env, CLEANROOM_HOME: join(workDir, "home") }, cwd: workDir };
  input.log("clean room: starting the governance service and the agent (virtual platform)…");
  const stack = await stackUp({ directory: stackDir, contractId: DEMO_CONTRACT, operator: await operatorIdentity(stackDir), memoryLimit: input.memoryLimit, threads: input.threads });
  const clients: GovernanceClient[] = [];
  try {
    await establishCollaboration(new Demo(quiet, runCli, quiet.env, workDir), stack);
    const client = (name: string) => {
      const made = clientOf(workDir, stack.governance.serviceCertificate, stack.governance.url, name);
      clients.push(made);
      return made;
    };
    const accept = async (owner: GovernanceClient, id: string, type: string, spec: unknown, approvers: GovernanceClient[] = [owner]) => {
      const version = (await owner.putUserDocument(DEMO_CONTRACT, id, { data: spec, labels: { type } })).transactionId!;
      for (const approver of approvers) await approver.approveUserDocument(DEMO_CONTRACT, id, version, "accept");
    };
    for (const dataset of DATASETS) {
      const owner = client(OWNERS[dataset]);
      const { secretId } = (await owner.putSecret(DEMO_CONTRACT, `${dataset}-key`, data.key.toString("base64"))).value;
      const fields = [...ADTECH_FIELDS[dataset]];
      const spec: DatasetSpecification = {
        name: dataset,
        schema: { format: "parquet", fields },
        accessPolicy: { accessMode: "read", allowedFields: fields.map((field) => field.name) },
        location: { kind: "local", path: data.datasets[dataset].encrypted.dir },
        encryption: { mode: "parquet-uniform", keySecretId: secretId },
        credentials: { kind: "none" },
      };
      await accept(owner, dataset, "dataset", spec);
    }
    const advertiser = client("advertiser");
    const sinkKey = randomBytes(32);
    const sinkDir = join(workDir, "sink");
    mkdirSync(sinkDir);
    const sinkSecret = (await advertiser.putSecret(DEMO_CONTRACT, "results-key", sinkKey.toString("base64"))).value.secretId;
    const sink: DatasinkSpecification = {
      name: "results",
      schema: { format: "parquet", fields: [...input.resultFields] },
      accessPolicy: { accessMode: "write", allowedFields: input.resultFields.map((field) => field.name) },
      location: { kind: "local", path: sinkDir },
      encryption: { mode: "parquet-uniform", keySecretId: sinkSecret },
      credentials: { kind: "none" },
    };
    await accept(advertiser, "results", "datasink", sink);
    const query: QuerySpecification = {
      inputs: DATASETS.map((dataset) => ({ dataset, view: input.views[dataset]! })),
      output: { sink: "results" },
      segments: [...input.segments],
    };
    // The advertiser writes the query; the service makes both owners its approvers.
    await accept(advertiser, "bench-query", "query", query, [client("publisher"), advertiser]);

    const agent = new AgentClient({
      url: stack.agent.url,
      serviceCertificatePem: readFileSync(stack.agent.certificate, "utf8"),
      certificatePem: readFileSync(join(workDir, "advertiser_cert.pem"), "utf8"),
      privateKeyPem: readFileSync(join(workDir, "advertiser_privk.pem"), "utf8"),
    });
    const runs: CleanRoomRun[] = [];
    try {
      for (let index = 0; index < input.runs; index++) {
        const started = performance.now();
        const submitted = await agent.run("bench-query", { runId: `bench-${index}` });
        const status = await agent.waitForRun(submitted.id, { intervalMs: 10 });
        const seconds = (performance.now() - started) / 1000;
        if (status.state !== "COMPLETED") throw new Error(`clean-room run ${index} ${status.state}: ${status.error?.code}: ${status.error?.message}`);
        // Kept beside the session's folder, which is removed before the results are compared with the baseline's.
        const kept = join(dirname(workDir), `${basename(workDir)}-run-${index}.parquet`);
        copyFileSync(join(sinkDir, status.output!.objects[0]!), kept);
        runs.push({ seconds, rows: status.stats?.rowsWritten ?? 0, outputPath: kept, outputKeyBase64: sinkKey.toString("base64") });
        if (process.env.BENCH_TRACE) input.log(timeline(status));
      }
    } finally {
      agent.close();
    }
    const agentPeakRssBytes = peakRssOf(stack.agent.pid);
    return { runs, ...(agentPeakRssBytes !== undefined ? { agentPeakRssBytes } : {}) };
  } finally {
    for (const made of clients) made.close();
    await stackDown(stackDir);
  }
}
