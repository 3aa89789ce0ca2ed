import { describe, expect, it } from "vitest";
import { contractListPath, contractPath, eventListPath, eventPutPath, userDocumentListPath, userDocumentPath } from "./paths.js";

describe("request paths", () => {
  it("encodes path segments and leaves out absent query parameters", () => {
    expect(contractPath("c1")).toBe("/app/contracts/c1");
    expect(contractPath("a/b?c")).toBe("/app/contracts/a%2Fb%3Fc");
    expect(contractListPath()).toBe("/app/contracts");
    expect(contractListPath("Proposed")).toBe("/app/contracts?state=Proposed");
    expect(userDocumentPath("c1", "d 1")).toBe("/app/contracts/c1/userdocuments/d%201");
    expect(userDocumentListPath("c1")).toBe("/app/contracts/c1/userdocuments");
    expect(userDocumentListPath("c1", "kind:dataset,owner:m0")).toBe("/app/contracts/c1/userdocuments?labelSelector=kind%3Adataset%2Cowner%3Am0");
  });

  it("uses the reference's event query names", () => {
    expect(eventListPath("c1")).toBe("/app/contracts/c1/events");
    expect(eventListPath("c1", { id: "e1", scope: "governance", fromSeqno: 1, toSeqno: 20, maxSeqnoPerPage: 5 })).toBe(
      "/app/contracts/c1/events?id=e1&scope=governance&from_seqno=1&to_seqno=20&max_seqno_per_page=5",
    );
    expect(eventPutPath("c1", { scope: "audit" })).toBe("/app/contracts/c1/events?scope=audit");
  });
});
