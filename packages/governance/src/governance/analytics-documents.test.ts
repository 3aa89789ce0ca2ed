import { describe, expect, it } from "vitest";
import type { StateReader } from "@cleanroom/ledger";
import { ApiError, type QuerySpecification, type UserDocument } from "@cleanroom/protocol";
import { checkAnalyticsDocument } from "./analytics-documents.js";

// What the HTTP tests cannot reach: documents stored before these rules existed, which may carry a `type` label on
// data that no longer validates. A query must never be bound to one.

const owner = { approverId: "owner", approverIdType: "user" } as const;
const sink: UserDocument = {
  id: "sink",
  contractId: "c",
  version: "2.7",
  state: "Accepted",
  data: {
    name: "results",
    schema: { format: "csv", fields: [{ name: "n", type: "long" }] },
    accessPolicy: { accessMode: "write", allowedFields: ["n"] },
    location: { kind: "local", path: "/sinks/results" },
    encryption: { mode: "none" },
    credentials: { kind: "none" },
  },
  labels: { type: "datasink" },
  approvers: [owner],
  approvals: [],
  pendingApprovers: [],
  proposerId: owner.approverId,
  proposerIdType: owner.approverIdType,
};
const legacy: UserDocument = { ...sink, id: "legacy", data: { kind: "dataset" }, labels: { type: "dataset" } };
const query: QuerySpecification = { inputs: [{ dataset: "legacy", view: "v" }], output: { sink: "sink" }, segments: [{ executionSequence: 1, statement: "SELECT 1" }] };
// Queries read only the documents they reference, never other state.
const noState = {} as StateReader;

function refusal(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    if (error instanceof ApiError) return `${error.code}: ${error.message}`;
    throw error;
  }
  return "accepted";
}

describe("query references", () => {
  it("refuse a document labelled dataset whose data is not a dataset", () => {
    const documents = new Map([legacy, sink].map((d) => [d.id, d]));
    const check = () =>
      checkAnalyticsDocument(noState, { contractId: "c", owner, labels: { type: "query" }, data: query, approvers: undefined, lookup: (id) => documents.get(id) });
    expect(refusal(check)).toMatch(/^QueryInputNotDataset: data\.inputs\.0\.dataset: document 'legacy' is not a valid dataset: data\.name: /);
  });
});
