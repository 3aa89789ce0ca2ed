import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HttpsTransport } from "@cleanroom/governance-client";
import { ERROR_CATALOGUE } from "@cleanroom/protocol";
import { startConsortium, type Consortium } from "../support/consortium.js";
import { repoRoot } from "../support/repo-root.js";

let consortium: Consortium;
let document: { openapi: string; paths: Record<string, Record<string, { responses: Record<string, unknown>; "x-cleanroom-auth": string; description: string }>> };

beforeAll(async () => {
  consortium = await startConsortium({ members: ["m0"], activate: false });
  const transport = new HttpsTransport(consortium.service.url, { serviceCertificatePem: consortium.service.serviceCertificatePem });
  const response = await transport.send("GET", "/openapi.json");
  transport.close();
  expect(response.status).toBe(200);
  document = JSON.parse(response.body.toString()) as typeof document;
});
afterAll(() => consortium.close());

describe("the OpenAPI document served at /openapi.json", () => {
  it("documents CCF's governance paths", () => {
    const operations = Object.entries(document.paths).flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`));
    expect(operations).toEqual(
      expect.arrayContaining([
        "POST /gov/members/proposals:create",
        "POST /gov/members/proposals/{proposalId}/ballots/{memberId}:submit",
        "POST /gov/members/proposals/{proposalId}:withdraw",
        "GET /gov/members/proposals",
        "GET /gov/members/proposals/{proposalId}",
        "GET /gov/members/proposals/{proposalId}/actions",
        "GET /gov/service/members",
        "GET /gov/service/constitution",
        "POST /gov/members/state-digests/{memberId}:update",
        "POST /gov/members/state-digests/{memberId}:ack",
        "GET /app/receipt",
        "GET /app/tx",
      ]),
    );
    expect(document.openapi).toBe("3.1.0");
  });

  it("is the committed docs/openapi/governance.json (run `npm run docs` after changing endpoints)", () => {
    const committed = JSON.parse(readFileSync(join(repoRoot(), "docs", "openapi", "governance.json"), "utf8")) as unknown;
    expect(document).toEqual(committed);
  });

  it("gives every operation its authentication, a success response and catalogued error responses", () => {
    for (const [path, methods] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        expect(["signed", "caller", "bearer", "callerOrAttested", "none"], `${method} ${path}`).toContain(operation["x-cleanroom-auth"]);
        const statuses = Object.keys(operation.responses).map(Number);
        expect(statuses.some((s) => s < 300), `${method} ${path} success`).toBe(true);
        const catalogued = new Set<number>(Object.values(ERROR_CATALOGUE).map((e) => e.status));
        for (const status of statuses.filter((s) => s >= 400)) expect(catalogued.has(status)).toBe(true);
      }
    }
  });

  it("is the contract the service actually enforces: an operation it lists as signed refuses an unsigned call", async () => {
    const transport = new HttpsTransport(consortium.service.url, { serviceCertificatePem: consortium.service.serviceCertificatePem });
    try {
      for (const [path, methods] of Object.entries(document.paths)) {
        for (const [method, operation] of Object.entries(methods)) {
          if (operation["x-cleanroom-auth"] === "none") continue;
          const url = path.replace("{proposalId}", "ab".repeat(32)).replace("{memberId}", "cd".repeat(32)).replace("{userId}", "ef".repeat(32)).replace("{transactionId}", "2.1");
          const response = await transport.send(method.toUpperCase(), url, method === "post" ? { contentType: "application/cose", data: Buffer.from([0xa0]) } : undefined);
          expect(response.status, `${method} ${path}`).toBeGreaterThanOrEqual(400);
          expect(response.status, `${method} ${path}`).toBeLessThan(500);
        }
      }
    } finally {
      transport.close();
    }
  });
});
