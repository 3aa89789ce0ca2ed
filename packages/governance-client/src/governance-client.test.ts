import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createSelfSignedCertificate, generateP384KeyPair, parseCertificate } from "@cleanroom/crypto";
import { TX_ID_HEADER, type Contract } from "@cleanroom/protocol";
import { ClientCheckError } from "./errors.js";
import { GovernanceClient } from "./governance-client.js";
import { ServiceError } from "./http.js";

// A stand-in service: records every request and answers from a table, so the tests see exactly what the client
// sends (method, path, headers, body) and how it reads the answers.

interface Recorded {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

type Reply = { status: number; body?: unknown; headers?: Record<string, string> };

let server: Server;
let url: string;
let serviceCertificatePem: string;
let member: { certificatePem: string; privateKeyPem: string; id: string };
let requests: Recorded[] = [];
let replies: Record<string, Reply> = {};

function reply(method: string, path: string, answer: Reply): void {
  replies[`${method} ${path}`] = answer;
}

function draft(overrides: Partial<Contract> = {}): Contract {
  return { id: "c1", version: "2.10", state: "Draft", data: { query: "q" }, proposalId: "", ...overrides };
}

const proposalInfo = {
  proposalId: "p1",
  proposerId: "a".repeat(64),
  proposalState: "Open",
  ballotCount: 0,
  votes: [],
  createdTxId: "2.11",
  lastTxId: "2.11",
  createdAt: "2024-01-01T00:00:00.000Z",
};

beforeAll(async () => {
  const keys = generateP384KeyPair();
  serviceCertificatePem = await createSelfSignedCertificate(keys, { commonName: "test service", isCa: true, ipAddresses: ["127.0.0.1"] });
  const memberKeys = generateP384KeyPair();
  const memberCert = await createSelfSignedCertificate(memberKeys, { commonName: "m0" });
  member = { certificatePem: memberCert, privateKeyPem: memberKeys.privateKeyPem, id: parseCertificate(memberCert).id };
  server = createServer({ cert: serviceCertificatePem, key: keys.privateKeyPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: body.toString(req.headers["content-type"] === "application/cose" ? "latin1" : "utf8") });
      const answer = replies[`${req.method} ${req.url}`] ?? { status: 404, body: { error: { code: "ResourceNotFound", message: `no ${req.url}` } } };
      res.writeHead(answer.status, { ...(answer.body !== undefined ? { "content-type": "application/json" } : {}), ...answer.headers });
      res.end(answer.body === undefined ? undefined : JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  requests = [];
  replies = {};
});

function client(options: Partial<ConstructorParameters<typeof GovernanceClient>[0]> = {}): GovernanceClient {
  return new GovernanceClient({ url, serviceCertificatePem, certificatePem: member.certificatePem, privateKeyPem: member.privateKeyPem, ...options });
}

describe("GovernanceClient against a stand-in service", () => {
  it("sends a bearer token on every request, asking a token function each time", async () => {
    reply("GET", "/app/contracts", { status: 200, body: { value: [{ id: "c1", state: "Draft" }] } });
    let calls = 0;
    const withFunction = client({ token: () => `token-${++calls}` });
    try {
      expect(await withFunction.contracts()).toEqual([{ id: "c1", state: "Draft" }]);
      await withFunction.contracts();
    } finally {
      withFunction.close();
    }
    const withString = client({ token: "fixed\n" });
    const without = client();
    try {
      await withString.contracts();
      await without.contracts();
    } finally {
      withString.close();
      without.close();
    }
    expect(requests.map((r) => r.headers.authorization)).toEqual(["Bearer token-1", "Bearer token-2", "Bearer fixed", undefined]);
  });

  it("PUTs JSON and returns the write's transaction id", async () => {
    reply("PUT", "/app/contracts/c1", { status: 200, body: { id: "c1", version: "2.10" }, headers: { [TX_ID_HEADER]: "2.10" } });
    const c = client();
    try {
      expect(await c.putContract("c1", { data: { query: "q" } })).toEqual({ value: { id: "c1", version: "2.10" }, transactionId: "2.10" });
    } finally {
      c.close();
    }
    expect(requests[0]).toMatchObject({ method: "PUT", body: JSON.stringify({ data: { query: "q" } }) });
    expect(requests[0]!.headers["content-type"]).toBe("application/json");
  });

  it("throws the service's error code", async () => {
    reply("GET", "/app/contracts/c2", { status: 404, body: { error: { code: "ContractNotFound", message: "Contract c2 does not exist." } } });
    const c = client();
    try {
      await expect(c.contract("c2")).rejects.toMatchObject({ name: "ServiceError", status: 404, code: "ContractNotFound" });
      await expect(c.contract("c2")).rejects.toBeInstanceOf(ServiceError);
    } finally {
      c.close();
    }
  });

  it("proposes a contract only at its current version, with the contract as read", async () => {
    reply("GET", "/app/contracts/c1", { status: 200, body: draft() });
    reply("POST", "/gov/members/proposals:create", { status: 200, body: proposalInfo, headers: { [TX_ID_HEADER]: "2.11" } });
    const c = client();
    try {
      await expect(c.proposeContract("c1", undefined)).rejects.toMatchObject({ name: "ClientCheckError", code: "VersionMissing" });
      expect(requests).toHaveLength(0);
      const modified = c.proposeContract("c1", "2.9");
      await expect(modified).rejects.toBeInstanceOf(ClientCheckError);
      await expect(modified).rejects.toMatchObject({ code: "ContractModified" });
      expect(requests.map((r) => r.url)).toEqual(["/app/contracts/c1"]);
      const proposed = await c.proposeContract("c1", "2.10");
      expect(proposed.transactionId).toBe("2.11");
      expect(requests.map((r) => `${r.method} ${r.url}`)).toEqual(["GET /app/contracts/c1", "GET /app/contracts/c1", "POST /gov/members/proposals:create"]);
    } finally {
      c.close();
    }
  });

  it("votes on a contract only for its open proposal, as the client's member", async () => {
    const c = client();
    try {
      await expect(c.voteContract("c1", undefined, true)).rejects.toMatchObject({ code: "ProposalIdMissing" });
      reply("GET", "/app/contracts/c1", { status: 200, body: draft() });
      await expect(c.voteContract("c1", "p1", true)).rejects.toMatchObject({ code: "ContractNotProposed" });
      reply("GET", "/app/contracts/c1", { status: 200, body: draft({ state: "Proposed", proposalId: "p1", votes: [], pendingVoters: [member.id] }) });
      await expect(c.voteContract("c1", "p2", true)).rejects.toMatchObject({ code: "ContractProposalIdMismatch" });
      reply("POST", `/gov/members/proposals/p1/ballots/${member.id}:submit`, { status: 200, body: { ...proposalInfo, proposalState: "Accepted" } });
      expect((await c.voteContract("c1", "p1", true)).value.proposalState).toBe("Accepted");
    } finally {
      c.close();
    }
  });

  it("follows nextLink pages for all events, from seqno 1 by default", async () => {
    const event = (seqno: number) => ({
      scope: "governance",
      id: "c1",
      seqno,
      transactionId: `2.${seqno}`,
      timestamp: "0001700000000",
      timestamp_iso: "2023-11-14T22:13:20.000Z",
      data: { type: "contract.proposed" },
      writer: { kind: "service", id: "service" },
    });
    reply("GET", "/app/contracts/c1/events?scope=governance&from_seqno=1", {
      status: 200,
      body: { value: [event(3)], nextLink: "/app/contracts/c1/events?from_seqno=6&to_seqno=9&scope=governance" },
    });
    reply("GET", "/app/contracts/c1/events?from_seqno=6&to_seqno=9&scope=governance", { status: 200, body: { value: [event(7), event(9)] } });
    reply("GET", "/app/contracts/c1/events", { status: 200, body: { value: [event(9)] } });
    reply("PUT", "/app/contracts/c1/events?scope=audit", { status: 204, headers: { [TX_ID_HEADER]: "2.12" } });
    const c = client({ token: "t" });
    try {
      expect((await c.allEvents("c1", { scope: "governance" })).map((e) => e.seqno)).toEqual([3, 7, 9]);
      expect((await c.events("c1")).value.map((e) => e.seqno)).toEqual([9]);
      expect(await c.putEvent("c1", { step: 1 }, { scope: "audit" })).toEqual({ value: undefined, transactionId: "2.12" });
    } finally {
      c.close();
    }
    expect(requests.at(-1)?.body).toBe(JSON.stringify({ data: { step: 1 } }));
    expect(requests.every((r) => r.headers.authorization === "Bearer t")).toBe(true);
  });

  it("refuses a nextLink to another origin", async () => {
    reply("GET", "/app/contracts/c1/events?from_seqno=1", { status: 200, body: { value: [], nextLink: "https://elsewhere.example/app/contracts/c1/events" } });
    const c = client();
    try {
      await expect(c.allEvents("c1")).rejects.toThrow(/not the service's origin/);
    } finally {
      c.close();
    }
  });

  it("builds user and issuer proposals with the constitution's argument names", async () => {
    reply("POST", "/gov/members/proposals:create", { status: 200, body: proposalInfo });
    const c = client();
    try {
      await c.proposeJwtIssuer({ issuer: "https://issuer.example", autoRefresh: true, audiences: ["api://x"] });
      await c.proposeUserIdentity({ id: "oid-1", data: { tenantId: "t1" } });
      await c.proposeUserInvitation({ invitationId: "inv-1", claims: { preferred_username: "a@x", tid: ["t1", "t2"] } });
      await c.proposeUserInvitation({ invitationId: "inv-1", claims: { tid: "t2" }, type: "remove" });
      await c.proposeRemoveUserInvitation("inv-1");
      await c.proposeUserIdentity({ id: "oid-1", invitationId: "inv-1", data: { tenantId: "t1" } });
    } finally {
      c.close();
    }
    // The signed payload is embedded in the COSE_Sign1 message as is.
    const payloads = [
      { name: "set_jwt_issuer", args: { issuer: "https://issuer.example", auto_refresh: true, audiences: ["api://x"] } },
      { name: "set_user_identity", args: { id: "oid-1", data: { tenantId: "t1" } } },
      { name: "set_user_invitation_by_jwt_claims", args: { invitationId: "inv-1", type: "add", claims: { preferred_username: "a@x", tid: ["t1", "t2"] } } },
      { name: "set_user_invitation_by_jwt_claims", args: { invitationId: "inv-1", type: "remove", claims: { tid: "t2" } } },
      { name: "remove_user_invitation_by_jwt_claims", args: { invitationId: "inv-1" } },
      { name: "set_user_identity", args: { id: "oid-1", invitationId: "inv-1", data: { tenantId: "t1" } } },
    ];
    expect(requests).toHaveLength(payloads.length);
    payloads.forEach((action, i) => expect(requests[i]!.body).toContain(JSON.stringify({ actions: [action] })));
  });

  it("reads invitations, and accepts one only with a token", async () => {
    const invitation = { invitationId: "inv-1", accountType: "microsoft", claims: { tid: ["t1"] }, status: "Open" };
    const accepted = { ...invitation, status: "Accepted", userInfo: { userId: "oid-1", data: { tenantId: "t1" } } };
    reply("GET", "/app/users/invitations", { status: 200, body: { value: [invitation] } });
    reply("GET", "/app/users/invitations/inv-1", { status: 200, body: invitation });
    reply("POST", "/app/users/invitations/inv-1/accept", { status: 200, body: accepted, headers: { [TX_ID_HEADER]: "2.20" } });
    const withCertificate = client();
    const invitee = client({ certificatePem: undefined, privateKeyPem: undefined, token: "invitee-token" });
    try {
      expect(await withCertificate.invitations()).toEqual([invitation]);
      expect(await withCertificate.invitation("inv-1")).toEqual(invitation);
      await expect(withCertificate.acceptInvitation("inv-1")).rejects.toThrow(/needs the invitee's bearer token/);
      expect(await invitee.acceptInvitation("inv-1")).toEqual({ value: accepted, transactionId: "2.20" });
    } finally {
      withCertificate.close();
      invitee.close();
    }
    expect(requests.map((r) => `${r.method} ${r.url}`)).toEqual(["GET /app/users/invitations", "GET /app/users/invitations/inv-1", "POST /app/users/invitations/inv-1/accept"]);
    expect(requests[2]!.headers.authorization).toBe("Bearer invitee-token");
  });
});
