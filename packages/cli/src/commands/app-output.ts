import type { Approver, RuntimeOptionStatus, UserDocument, Vote } from "@cleanroom/protocol";

/** Shared people-facing formatting for the `/app` resources (contracts, user documents, events). */

/** `label (…): accept` for each vote. */
export function formatVotes(votes: readonly Vote[] | undefined, label: (id: string) => string): string {
  if (!votes || votes.length === 0) return "none";
  return votes.map((v) => `${label(v.memberId)}: ${v.vote ? "accept" : "reject"}`).join(", ");
}

/** A runtime option status as record fields: status, why it is disabled, who disabled it, open proposals. */
export function runtimeOptionRecord(option: string, status: RuntimeOptionStatus, label: (id: string) => string = (id) => id): Record<string, unknown> {
  return {
    option,
    status: status.status,
    ...(status.reason ? { reason: `${status.reason.code}: ${status.reason.message}` } : {}),
    ...(status.disabledBy && status.disabledBy.length > 0 ? { disabledBy: status.disabledBy.map(label).join(", ") } : {}),
    ...(status.proposalIds ? { proposalIds: status.proposalIds.join(", ") || "none" } : {}),
  };
}

/** Each approver with the action it took on the document, or `pending`. */
export function approverStatuses(document: Pick<UserDocument, "approvers" | "approvals">): Array<{ approver: Approver; action: string }> {
  return document.approvers.map((approver) => {
    const approval = document.approvals.find((a) => a.approverId === approver.approverId && a.approverIdType === approver.approverIdType);
    return { approver, action: approval ? `${approval.action === "accept" ? "accepted" : "rejected"} ${approval.version}` : "pending" };
  });
}

/** One line per approver: `label (member): accepted 2.14` or `… : pending`. */
export function formatApprovers(document: Pick<UserDocument, "approvers" | "approvals">, label: (id: string) => string): string {
  const lines = approverStatuses(document).map(({ approver, action }) => `${label(approver.approverId)} (${approver.approverIdType}): ${action}`);
  return lines.join("; ") || "none";
}

/** `k=v, k2=v2`. */
export function formatLabels(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([name, value]) => `${name}=${value}`)
    .join(", ");
}

/** Data as one line: strings as they are, anything else as compact JSON; cut to `max` characters when given. */
export function formatData(data: unknown, max?: number): string {
  const text = typeof data === "string" ? data : (JSON.stringify(data) ?? "");
  return max !== undefined && text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
