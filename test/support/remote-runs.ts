// What the agent's remote-storage tests share: a two-party query (impressions joined with conversions, distinct
// converting users per campaign), its rows and result, running it to its end as the operator, and listing what a
// store holds.
import type { DatasetField, QuerySpecification, RunStatus } from "@cleanroom/protocol";
import type { ObjectStore } from "@cleanroom/storage";
import type { CleanRoom } from "./clean-room.js";

export const PARTY_FIELDS: DatasetField[] = [
  { name: "user_id", type: "string" },
  { name: "campaign", type: "string" },
];

export const RESULT_FIELDS: DatasetField[] = [
  { name: "campaign", type: "string" },
  { name: "users", type: "long" },
];

/** 30 users saw campaigns c1 (u0–u19) and c2 (u20–u29); every second of u0–u22 converted. */
export const IMPRESSIONS = Array.from({ length: 30 }, (_, i) => [`u${i}`, i < 20 ? "c1" : "c2"]);
export const CONVERSIONS = Array.from({ length: 12 }, (_, i) => [`u${i * 2}`, "c1"]);
/** The query's result over them, ordered by campaign, as DuckDB reads it back. */
export const EXPECTED_RESULT = [
  { campaign: "c1", users: "10" },
  { campaign: "c2", users: "2" },
];

const SQL = "SELECT i.campaign AS campaign, COUNT(DISTINCT c.user_id) AS users FROM impressions i JOIN conversions c ON i.user_id = c.user_id GROUP BY i.campaign";

/** The query over the datasets named, into the sink `results`. */
export function twoPartyQuery(impressions: string, conversions = "conversions"): QuerySpecification {
  return {
    inputs: [
      { dataset: impressions, view: "impressions" },
      { dataset: conversions, view: "conversions" },
    ],
    output: { sink: "results" },
    segments: [{ executionSequence: 1, statement: SQL }],
  };
}

/** Starts a run as the operator and waits for its end. */
export async function runToEnd(room: CleanRoom, queryId: string, runId: string): Promise<RunStatus> {
  const client = room.clientFor(room.operator);
  await client.run(queryId, { runId });
  return client.waitForRun(runId, { intervalMs: 20 });
}

export async function objectKeys(store: ObjectStore): Promise<string[]> {
  const keys: string[] = [];
  for await (const object of store.list()) keys.push(object.key);
  return keys;
}
