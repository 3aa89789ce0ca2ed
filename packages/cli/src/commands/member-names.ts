import type { GovernanceClient } from "@cleanroom/governance-client";

/** Member id → "identifier (abcd1234…)" for people-facing output. */
export async function memberLabels(client: GovernanceClient): Promise<(id: string) => string> {
  const members = await client.members();
  const names = new Map(members.map((m) => [m.memberId, typeof m.memberData.identifier === "string" ? m.memberData.identifier : undefined]));
  return (id) => {
    const name = names.get(id);
    return name ? `${name} (${id.slice(0, 8)}…)` : id;
  };
}
