import type { StateReader } from "@cleanroom/ledger";
import type { MemberInfo, MemberStatus, UserInfo } from "@cleanroom/protocol";
import { readJson } from "./json-state.js";
import { Maps } from "./maps.js";

/** `public:ccf.gov.members.info` values, in CCF's format. */
export interface StoredMemberInfo {
  status: MemberStatus;
  member_data: Record<string, unknown>;
}

/** `public:ccf.gov.members.acks` values: the state digest last issued to the member. */
export interface StoredMemberAck {
  state_digest: string;
}

export interface StoredUserInfo {
  user_data: Record<string, unknown>;
}

export interface MemberRecord {
  id: string;
  certificatePem: string;
  info: StoredMemberInfo;
}

export function getMember(state: StateReader, id: string): MemberRecord | undefined {
  const info = readJson<StoredMemberInfo>(state, Maps.membersInfo, id);
  const certificatePem = readJson<string>(state, Maps.membersCerts, id);
  if (info === undefined || certificatePem === undefined) return undefined;
  return { id, certificatePem, info };
}

export function toWireMember(member: MemberRecord): MemberInfo {
  return {
    memberId: member.id,
    certificate: member.certificatePem,
    memberData: member.info.member_data,
    status: member.info.status,
  };
}

export function listMembers(state: StateReader): MemberInfo[] {
  const members: MemberInfo[] = [];
  state.forEach(Maps.membersInfo, (id) => {
    const member = getMember(state, id);
    if (member) members.push(toWireMember(member));
  });
  return members;
}

export function getUser(state: StateReader, id: string): UserInfo | undefined {
  const info = readJson<StoredUserInfo>(state, Maps.usersInfo, id);
  const certificatePem = readJson<string>(state, Maps.usersCerts, id);
  if (info === undefined || certificatePem === undefined) return undefined;
  return { userId: id, certificate: certificatePem, userData: info.user_data };
}

export function listUsers(state: StateReader): UserInfo[] {
  const users: UserInfo[] = [];
  state.forEach(Maps.usersInfo, (id) => {
    const user = getUser(state, id);
    if (user) users.push(user);
  });
  return users;
}
