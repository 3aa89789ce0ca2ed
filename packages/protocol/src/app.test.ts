import { describe, expect, it } from "vitest";
import { LabelsSchema, parseLabelSelector, PutUserDocumentBodySchema, ResourceIdSchema } from "./app.js";

describe("label selectors", () => {
  it("parses name:value pairs separated by commas", () => {
    expect(parseLabelSelector("kind:dataset")).toEqual([["kind", "dataset"]]);
    expect(parseLabelSelector("kind:dataset,owner:org/a")).toEqual([
      ["kind", "dataset"],
      ["owner", "org/a"],
    ]);
  });

  it("refuses selectors without a name or value, empty parts and characters labels cannot hold", () => {
    for (const selector of ["", "name", ":value", "name:", "a:b,", ",a:b", "a:b,,c:d", "a b:c", "a:b:c", "ä:b"]) {
      expect(parseLabelSelector(selector), selector).toBeUndefined();
    }
  });
});

describe("wire schemas", () => {
  it("resource ids are single URL path segments", () => {
    for (const ok of ["c", "contract-1", "a.b_c", "X".repeat(128)]) expect(ResourceIdSchema.safeParse(ok).success, ok).toBe(true);
    for (const bad of ["", "-x", ".x", "a/b", "a:b", "a b", "X".repeat(129), "é"]) expect(ResourceIdSchema.safeParse(bad).success, bad).toBe(false);
  });

  it("labels are bounded name/value strings", () => {
    expect(LabelsSchema.safeParse({ kind: "dataset" }).success).toBe(true);
    expect(LabelsSchema.safeParse({ kind: 1 }).success).toBe(false);
    expect(LabelsSchema.safeParse({ "bad name": "x" }).success).toBe(false);
    expect(LabelsSchema.safeParse(Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, "v"]))).success).toBe(false);
  });

  it("user document bodies are strict and approvers typed", () => {
    expect(PutUserDocumentBodySchema.safeParse({ data: 1, approvers: [{ approverId: "a", approverIdType: "member" }] }).success).toBe(true);
    expect(PutUserDocumentBodySchema.safeParse({ data: 1, extra: true }).success).toBe(false);
    expect(PutUserDocumentBodySchema.safeParse({ data: 1, approvers: [{ approverId: "a", approverIdType: "group" }] }).success).toBe(false);
    expect(PutUserDocumentBodySchema.safeParse({ data: 1, approvers: [{ approverId: "a:b", approverIdType: "user" }] }).success).toBe(false);
  });
});
