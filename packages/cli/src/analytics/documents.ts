import { readFileSync } from "node:fs";
import type { GovernanceClient } from "@cleanroom/governance-client";
import { parseCertificate } from "@cleanroom/crypto";
import {
  ANALYTICS_TYPE_LABEL,
  DatasetSpecificationSchema,
  DatasinkSpecificationSchema,
  QuerySpecificationSchema,
  type ApproverIdType,
  type DatasetSpecification,
  type DatasinkSpecification,
  type QuerySpecification,
  type UserDocument,
} from "@cleanroom/protocol";
import type { CommandContext } from "../context.js";

export type AnalyticsKind = "dataset" | "datasink" | "query";

/** How the kinds are called in messages. */
export const KIND_NAME: Record<AnalyticsKind, string> = { dataset: "dataset", datasink: "sink", query: "query" };

const SPEC_SCHEMAS = { dataset: DatasetSpecificationSchema, datasink: DatasinkSpecificationSchema, query: QuerySpecificationSchema } as const;
export interface SpecOf {
  dataset: DatasetSpecification;
  datasink: DatasinkSpecification;
  query: QuerySpecification;
}

/** The selected profile's id to the service: the owner part of its secret ids and federation subjects. */
export async function ownId(ctx: CommandContext, client: GovernanceClient): Promise<string> {
  const { profile } = ctx.profile();
  // A certificate's id is its hash; only a JWT user needs to ask who the service takes it to be (its oid).
  if (profile.certificate !== undefined && ctx.io.env.CLEANROOM_ACCESS_TOKEN === undefined && profile.tokenFile === undefined) {
    return parseCertificate(readFileSync(profile.certificate, "utf8")).id;
  }
  return (await client.selfStatus()).id;
}

/** The document, or undefined if the contract has none with this id (other errors, e.g. ContractNotFound, are thrown). */
export async function findDocument(client: GovernanceClient, contractId: string, id: string): Promise<UserDocument | undefined> {
  try {
    return await client.userDocument(contractId, id);
  } catch (error) {
    if ((error as { name?: string; code?: string }).name === "ServiceError" && (error as { code?: string }).code === "UserDocumentNotFound") return undefined;
    throw error;
  }
}

/** The analytics type of a document's labels, as stored. */
export function typeOf(document: Pick<UserDocument, "labels">): string | undefined {
  return document.labels[ANALYTICS_TYPE_LABEL];
}

/** A document of the given kind with its data parsed; a clear error for another kind or invalid data. */
export async function analyticsDocument<K extends AnalyticsKind>(
  client: GovernanceClient,
  contractId: string,
  id: string,
  kind: K,
): Promise<{ document: UserDocument; spec: SpecOf[K] }> {
  const document = await client.userDocument(contractId, id);
  return { document, spec: specOf(document, kind) };
}

export function specOf<K extends AnalyticsKind>(document: UserDocument, kind: K): SpecOf[K] {
  const type = typeOf(document);
  if (type !== kind) throw new Error(`Document ${document.id} of contract ${document.contractId} is not a ${KIND_NAME[kind]} (label type: ${type ?? "none"}).`);
  const parsed = SPEC_SCHEMAS[kind].safeParse(document.data);
  if (!parsed.success) throw new Error(`Document ${document.id} is labelled type: ${kind} but its data is not a valid ${KIND_NAME[kind]}: ${parsed.error.issues[0]?.message ?? ""}`);
  return parsed.data as SpecOf[K];
}

/** Every document of the contract labelled `type: <kind>`, read whole. */
export async function analyticsDocuments(client: GovernanceClient, contractId: string, kind: AnalyticsKind): Promise<UserDocument[]> {
  const list = await client.userDocuments(contractId, `${ANALYTICS_TYPE_LABEL}:${kind}`);
  return Promise.all(list.map((entry) => client.userDocument(contractId, entry.id)));
}

/** JSON with sorted keys, so that two equal values compare equal as text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/** Top-level fields whose values differ. */
export function changedFields(before: unknown, after: Record<string, unknown>): string[] {
  const old = (typeof before === "object" && before !== null ? before : {}) as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(old), ...Object.keys(after)])];
  return keys.filter((key) => canonicalJson(old[key]) !== canonicalJson(after[key]));
}


/** `label (member)` for members (with their identifier), the bare id for users. */
export function partyLabel(id: string, kind: ApproverIdType, label: (id: string) => string): string {
  return `${kind === "member" ? label(id) : id} (${kind})`;
}
