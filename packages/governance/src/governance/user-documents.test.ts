import { describe, expect, it } from "vitest";
import type { Approver } from "@cleanroom/protocol";
import { documentState } from "./user-documents.js";

const a: Approver = { approverId: "a", approverIdType: "member" };
const b: Approver = { approverId: "b", approverIdType: "user" };
// Same id as `a` but a user: must never count as the member's approval.
const aUser: Approver = { approverId: "a", approverIdType: "user" };

describe("user document state", () => {
  it("is Draft until somebody acts", () => {
    expect(documentState([a, b], [])).toBe("Draft");
  });

  it("is Proposed after an accept and Accepted when every approver accepted", () => {
    expect(documentState([a, b], [{ ...a, action: "accept" }])).toBe("Proposed");
    expect(documentState([a, b], [{ ...a, action: "accept" }, { ...b, action: "accept" }])).toBe("Accepted");
  });

  it("is Rejected on any reject, even after accepts", () => {
    expect(documentState([a, b], [{ ...a, action: "accept" }, { ...b, action: "reject" }])).toBe("Rejected");
    expect(documentState([a, b], [{ ...b, action: "reject" }])).toBe("Rejected");
  });

  it("matches approvers by id and type", () => {
    expect(documentState([a, b], [{ ...aUser, action: "accept" }, { ...b, action: "accept" }])).toBe("Proposed");
  });
});
