import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Contract, UserDocument } from "@cleanroom/protocol";
import { approverStatuses, formatApprovers, formatData, runtimeOptionRecord } from "./commands/app-output.js";
import { contractRecord } from "./commands/governance-contract.js";
import { parseApprovers, parseLabels, userDocumentRecord } from "./commands/governance-user-document.js";
import { accessToken } from "./context.js";
import { commandVersionArguments } from "./run-cli.js";

const M0 = "0".repeat(64);
const M1 = "1".repeat(64);
const label = (id: string) => (id === M0 ? "m0" : id === M1 ? "m1" : id);

describe("commandVersionArguments", () => {
  it("gives --version after a command to the command, and leaves the program's --version alone", () => {
    expect(commandVersionArguments(["--version"])).toEqual(["--version"]);
    expect(commandVersionArguments(["-V"])).toEqual(["-V"]);
    expect(commandVersionArguments(["governance", "contract", "propose", "--id", "c1", "--version", "2.14"])).toEqual([
      "governance",
      "contract",
      "propose",
      "--id",
      "c1",
      "--version=2.14",
    ]);
    // A program option's value is not a command word.
    expect(commandVersionArguments(["--profile", "m0", "--version"])).toEqual(["--profile", "m0", "--version"]);
    expect(commandVersionArguments(["-o", "json", "governance", "contract", "create", "--version", "1.2"])).toEqual([
      "-o",
      "json",
      "governance",
      "contract",
      "create",
      "--version=1.2",
    ]);
    // Without a value it stays the program's flag; after `--` nothing is touched.
    expect(commandVersionArguments(["governance", "--version"])).toEqual(["governance", "--version"]);
    expect(commandVersionArguments(["governance", "--", "--version", "x"])).toEqual(["governance", "--", "--version", "x"]);
  });
});

describe("user document option parsing", () => {
  it("accepts approvers in this CLI's form and the reference CLI's {id, type} form", () => {
    expect(parseApprovers([{ approverId: M0, approverIdType: "member" }, { id: "oid-1", type: "user" }])).toEqual([
      { approverId: M0, approverIdType: "member" },
      { approverId: "oid-1", approverIdType: "user" },
    ]);
    expect(() => parseApprovers({ approverId: M0 })).toThrow(/JSON array/);
    expect(() => parseApprovers([{ approverId: M0, approverIdType: "admin" }])).toThrow(/--approvers\[0\] is invalid: approverIdType/);
    expect(() => parseApprovers([{ approverId: M0, approverIdType: "member", extra: 1 }])).toThrow(/--approvers\[0\]/);
  });

  it("checks labels", () => {
    expect(parseLabels({ kind: "dataset" })).toEqual({ kind: "dataset" });
    expect(() => parseLabels(["kind"])).toThrow(/--labels must be a JSON object/);
    expect(() => parseLabels({ kind: "a b" })).toThrow(/label value/);
  });
});

describe("people-facing records", () => {
  it("shows a proposed contract's votes and pending voters, and an accepted one's final votes", () => {
    const proposed: Contract = {
      id: "c1",
      version: "2.10",
      state: "Proposed",
      data: { q: 1 },
      proposalId: "p1",
      requiredMembers: [M0, M1],
      votes: [{ memberId: M0, vote: true }],
      pendingVoters: [M1],
    };
    expect(contractRecord(proposed, label)).toEqual({
      id: "c1",
      state: "Proposed",
      version: "2.10",
      proposalId: "p1",
      requiredMembers: "m0, m1",
      votes: "m0: accept",
      pendingVoters: "m1",
      data: '{"q":1}',
    });
    const accepted: Contract = { ...proposed, state: "Accepted", finalVotes: [{ memberId: M0, vote: true }, { memberId: M1, vote: false }] };
    delete accepted.votes;
    delete accepted.pendingVoters;
    expect(contractRecord(accepted, label)).toMatchObject({ finalVotes: "m0: accept, m1: reject" });
    expect(contractRecord({ ...proposed, state: "Draft", proposalId: "", votes: undefined, pendingVoters: undefined }, label)).toMatchObject({
      proposalId: "none",
    });
  });

  it("shows each approver's action or pending", () => {
    const document: UserDocument = {
      id: "d1",
      contractId: "c1",
      version: "2.20",
      state: "Proposed",
      data: "text",
      labels: { kind: "dataset" },
      approvers: [
        { approverId: M0, approverIdType: "member" },
        { approverId: "oid-1", approverIdType: "user" },
      ],
      approvals: [{ approverId: M0, approverIdType: "member", action: "accept", version: "2.20", transactionId: "2.21" }],
      pendingApprovers: [{ approverId: "oid-1", approverIdType: "user" }],
      proposerId: M1,
      proposerIdType: "member",
    };
    expect(approverStatuses(document).map((s) => s.action)).toEqual(["accepted 2.20", "pending"]);
    expect(formatApprovers(document, label)).toBe("m0 (member): accepted 2.20; oid-1 (user): pending");
    expect(userDocumentRecord(document, label)).toMatchObject({ state: "Proposed", proposer: "m1 (member)", labels: "kind=dataset", data: "text" });
  });

  it("shows why a runtime option is disabled", () => {
    expect(runtimeOptionRecord("execution", { status: "disabled", reason: { code: "ContractDisabled", message: "by m0" }, disabledBy: [M0] }, label)).toEqual({
      option: "execution",
      status: "disabled",
      reason: "ContractDisabled: by m0",
      disabledBy: "m0",
    });
    expect(runtimeOptionRecord("logging", { status: "disabled", proposalIds: [] })).toEqual({ option: "logging", status: "disabled", proposalIds: "none" });
  });
});

describe("accessToken", () => {
  const base = { serviceUrl: "https://127.0.0.1:1", serviceCertificate: "/x" };

  it("prefers CLEANROOM_ACCESS_TOKEN, else reads the profile's token file when first needed", () => {
    const dir = mkdtempSync(join(tmpdir(), "cleanroom-token-"));
    try {
      const file = join(dir, "token");
      expect(accessToken("p", base, {})).toBeUndefined();
      expect(accessToken("p", { ...base, tokenFile: file }, { CLEANROOM_ACCESS_TOKEN: " env-token \n" })).toBe("env-token");
      const fromFile = accessToken("p", { ...base, tokenFile: file }, { CLEANROOM_ACCESS_TOKEN: "" });
      expect(typeof fromFile).toBe("function");
      expect(() => (fromFile as () => string)()).toThrow(/Cannot read the token file .* of profile 'p'/);
      writeFileSync(file, "file-token\n");
      const again = accessToken("p", { ...base, tokenFile: file }, {}) as () => string;
      expect(again()).toBe("file-token");
      writeFileSync(file, "  \n");
      expect(() => (accessToken("p", { ...base, tokenFile: file }, {}) as () => string)()).toThrow(/is empty/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("formatData", () => {
  it("shows strings as they are and cuts long data when asked", () => {
    expect(formatData("SELECT 1")).toBe("SELECT 1");
    expect(formatData({ a: 1 })).toBe('{"a":1}');
    expect(formatData({ a: "x".repeat(20) }, 10)).toBe('{"a":"xxx…');
    expect(formatData(undefined)).toBe("");
  });
});
