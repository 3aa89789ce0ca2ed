// `cleanroom up|down|demo` (issue 5 item 6): the local stack as separate processes (governance service, agent on
// the virtual platform), and the whole demo through it, at a small size (the README's command runs 1M rows).
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { AgentClient } from "@cleanroom/agent-client";
import { cli } from "../support/cli.js";

const home = mkdtempSync(join(tmpdir(), "cleanroom-stack-"));
const run = (args: string[]) => cli(args, { home, cwd: home });

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

afterAll(async () => {
  await run(["down", "--dir", join(home, "stack")]);
  rmSync(home, { recursive: true, force: true });
});

describe("cleanroom up and down", () => {
  it("starts governance and the agent as processes, is idempotent, and stops them", async () => {
    const up = await run(["--output", "json", "up", "--dir", join(home, "stack"), "--contract-id", "collab", "--memory-limit", "1GB"]);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stderr).toContain("virtual attestation platform");
    const summary = up.json<{ contract: string; governance: string; agent: string; agentHostData: string }>();
    expect(summary).toMatchObject({ contract: "collab" });
    const stack = JSON.parse(readFileSync(join(home, "stack", "stack.json"), "utf8")) as { governance: { pid: number }; agent: { pid: number; certificate: string } };
    expect(alive(stack.governance.pid) && alive(stack.agent.pid)).toBe(true);

    // The operator's profile reaches both services.
    const profile = await run(["--output", "json", "profile", "show", "operator"]);
    expect(profile.json()).toMatchObject({ serviceUrl: summary.governance, agentUrl: summary.agent });
    const member = await run(["--output", "json", "--profile", "operator", "governance", "member", "list"]);
    expect(member.json<Array<{ status: string }>>()[0]).toMatchObject({ status: "Active" });
    const agent = new AgentClient({ url: summary.agent, serviceCertificatePem: readFileSync(stack.agent.certificate, "utf8") });
    try {
      expect(await agent.info()).toMatchObject({ contractId: "collab", engine: "duckdb", attestationMode: "virtual-platform", hostData: summary.agentHostData });
    } finally {
      agent.close();
    }

    const again = await run(["--output", "json", "up", "--dir", join(home, "stack")]);
    expect(again.json()).toEqual(summary);

    const down = await run(["--output", "json", "down", "--dir", join(home, "stack")]);
    expect(down.json()).toEqual({ stopped: true });
    expect(alive(stack.governance.pid) || alive(stack.agent.pid)).toBe(false);
    expect(existsSync(join(home, "stack", "stack.json"))).toBe(false);
    expect((await run(["--output", "json", "down", "--dir", join(home, "stack")])).json()).toEqual({ stopped: false });
  }, 120_000);
});

describe("cleanroom demo", () => {
  it("drives the whole collaboration: refusals, a run, the decrypted result, a blocked run after revocation, the audit", async () => {
    const demo = await run(["demo", "--dir", join(home, "demo"), "--rows", "5000", "--memory-limit", "1GB"]);
    expect(demo.code, `${demo.stdout.slice(-3000)}\n${demo.stderr.slice(-2000)}`).toBe(0);
    const out = demo.stdout;
    expect(out).toContain("Demo complete.");
    // Refused before approval, then the run, the result table, then refused after the revocation.
    expect(demo.stderr).toContain("QueryMissingApprovalsFromDatasetOwners");
    expect(out).toMatch(/campaign_id\s+converting_users\s+conversions\s+revenue/);
    expect(out).toMatch(/cmp-\d{3}\s+\d+\s+\d+\s+[\d.]+/);
    expect(demo.stderr).toContain("UserDocumentRuntimeOptionDisabled");
    expect(out).toContain("Query execution denied for queryId conversion-lift. Reason:");
    expect(out).toContain("Event_QUERY_COMPLETED_3003");
    // The stack is stopped afterwards.
    expect(existsSync(join(home, "demo", "stack", "stack.json"))).toBe(false);
  }, 300_000);
});
