// Cleanroom default constitution.
//
// Evaluated by the governance service in a QuickJS sandbox, with CCF's constitution interface: validate(input),
// resolve(proposal, proposerId, votes), apply(proposal, proposalId), plus the Cleanroom extension
// requiredVoters(proposal, proposerId) that lets the service show who still has to vote. A `set_constitution`
// proposal replaces this whole module.
//
// Voting rule (reference §3.2): a proposal is accepted when every *counted* Active member has voted yes.
// Members holding any role (operator, recoveryOperator, cgsOperator, contractOperator) are not counted, and their
// ballots do not count. Members still in status Accepted (not yet acknowledged) are not counted.

const MEMBERS_CERTS = "public:ccf.gov.members.certs";
const MEMBERS_INFO = "public:ccf.gov.members.info";
const MEMBERS_ACKS = "public:ccf.gov.members.acks";
const USERS_CERTS = "public:ccf.gov.users.certs";
const USERS_INFO = "public:ccf.gov.users.info";
const CONSTITUTION = "public:ccf.gov.constitution";

const ROLES = ["operator", "recoveryOperator", "cgsOperator", "contractOperator"];
const ID_PATTERN = /^[0-9a-f]{64}$/;
const MAX_DATA_BYTES = 16 * 1024;

// Reads go through cleanroom.kv (one host call each); writes use CCF's ccf.kv API.
function getJson(map, key) {
  return cleanroom.kv.getJson(map, key);
}

function setJson(map, key, value) {
  ccf.kv[map].set(ccf.strToBuf(key), ccf.jsonCompatibleToBuf(value));
}

function remove(map, key) {
  ccf.kv[map].delete(ccf.strToBuf(key));
}

// ---------------------------------------------------------------------------------------------------------------
// Argument checks. Each throws an Error whose message names the offending field.

function checkPlainObject(value, field) {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error(`${field} must be an object`);
  }
}

function checkOnlyKeys(value, allowed, field) {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) throw new Error(`${field} has unknown field '${key}' (allowed: ${allowed.join(", ")})`);
  }
}

function checkString(value, field, { min = 1, max = 256 } = {}) {
  if (typeof value !== "string") throw new Error(`${field} must be a string`);
  if (value.length < min || value.length > max) throw new Error(`${field} must have ${min} to ${max} characters`);
}

function checkId(value, field) {
  if (typeof value !== "string" || !ID_PATTERN.test(value)) {
    throw new Error(`${field} must be an id: 64 lowercase hex characters`);
  }
}

function checkSize(value, field) {
  if (JSON.stringify(value).length > MAX_DATA_BYTES) throw new Error(`${field} must be at most ${MAX_DATA_BYTES} bytes of JSON`);
}

function checkCertificate(pem, field) {
  checkString(pem, field, { max: 16 * 1024 });
  let info;
  try {
    info = cleanroom.certificateInfo(pem);
  } catch (error) {
    throw new Error(`${field} is not a single PEM X.509 certificate: ${error.message}`);
  }
  if (!info.isP384) throw new Error(`${field} must carry an ECDSA P-384 public key`);
  if (Date.parse(info.notAfter) < Date.now()) throw new Error(`${field} expired on ${info.notAfter}`);
  return info;
}

function checkMemberData(data, field) {
  checkPlainObject(data, field);
  checkSize(data, field);
  checkString(data.identifier, `${field}.identifier`);
  if (data.tenantId !== undefined) checkString(data.tenantId, `${field}.tenantId`);
  if (data.roles !== undefined) {
    if (!Array.isArray(data.roles)) throw new Error(`${field}.roles must be an array`);
    for (const role of data.roles) {
      if (!ROLES.includes(role)) throw new Error(`${field}.roles has unknown role '${role}' (known: ${ROLES.join(", ")})`);
    }
    if (new Set(data.roles).size !== data.roles.length) throw new Error(`${field}.roles has duplicates`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Members and the voting population.

function memberInfo(memberId) {
  return getJson(MEMBERS_INFO, memberId);
}

function hasRole(info) {
  const roles = info.member_data && info.member_data.roles;
  return Array.isArray(roles) && roles.length > 0;
}

/** Active members without a role, sorted: the members whose yes votes a proposal needs. */
function countedActiveMembers() {
  return cleanroom.kv
    .entriesJson(MEMBERS_INFO)
    .filter(([, info]) => info.status === "Active" && !hasRole(info))
    .map(([id]) => id);
}

function memberIdArg(args, field) {
  if (args.member_id !== undefined) {
    checkId(args.member_id, `${field}.member_id`);
    return args.member_id;
  }
  checkCertificate(args.cert, `${field}.cert`);
  return ccf.pemToId(args.cert);
}

function requireMember(memberId) {
  const info = memberInfo(memberId);
  if (info === undefined) throw new Error(`member ${memberId} does not exist`);
  return info;
}

/** Refuses a change that would leave nobody able to accept proposals: governance would be locked for good. */
function assertVotersRemain() {
  if (countedActiveMembers().length === 0) {
    throw new Error("the change would leave no Active member without a role, so no proposal could ever pass");
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Actions: validate(args) checks shape and is run at proposal time; apply(args, proposalId) changes state.

const actions = new Map([
  [
    "set_member",
    {
      validate(args) {
        checkPlainObject(args, "args");
        checkOnlyKeys(args, ["cert", "member_data"], "args");
        checkCertificate(args.cert, "args.cert");
        checkMemberData(args.member_data, "args.member_data");
      },
      apply(args) {
        const id = ccf.pemToId(args.cert);
        const existing = memberInfo(id);
        setJson(MEMBERS_CERTS, id, args.cert);
        // A member re-proposed with new data keeps its status: re-adding never deactivates anybody.
        setJson(MEMBERS_INFO, id, { status: existing ? existing.status : "Accepted", member_data: args.member_data });
        assertVotersRemain();
      },
    },
  ],
  [
    "remove_member",
    {
      validate(args) {
        checkPlainObject(args, "args");
        checkOnlyKeys(args, ["member_id", "cert"], "args");
        memberIdArg(args, "args");
      },
      apply(args) {
        const id = memberIdArg(args, "args");
        requireMember(id);
        remove(MEMBERS_CERTS, id);
        remove(MEMBERS_INFO, id);
        remove(MEMBERS_ACKS, id);
        assertVotersRemain();
      },
    },
  ],
  [
    "set_member_data",
    {
      validate(args) {
        checkPlainObject(args, "args");
        checkOnlyKeys(args, ["member_id", "member_data"], "args");
        checkId(args.member_id, "args.member_id");
        checkMemberData(args.member_data, "args.member_data");
      },
      apply(args) {
        const info = requireMember(args.member_id);
        setJson(MEMBERS_INFO, args.member_id, { ...info, member_data: args.member_data });
        assertVotersRemain();
      },
    },
  ],
  [
    "set_user",
    {
      validate(args) {
        checkPlainObject(args, "args");
        checkOnlyKeys(args, ["cert", "user_data"], "args");
        checkCertificate(args.cert, "args.cert");
        if (args.user_data !== undefined) {
          checkPlainObject(args.user_data, "args.user_data");
          checkSize(args.user_data, "args.user_data");
        }
      },
      apply(args) {
        const id = ccf.pemToId(args.cert);
        if (memberInfo(id) !== undefined) throw new Error(`certificate ${id} already identifies a member`);
        setJson(USERS_CERTS, id, args.cert);
        setJson(USERS_INFO, id, { user_data: args.user_data ?? {} });
      },
    },
  ],
  [
    "remove_user",
    {
      validate(args) {
        checkPlainObject(args, "args");
        checkOnlyKeys(args, ["user_id"], "args");
        checkId(args.user_id, "args.user_id");
      },
      apply(args) {
        if (getJson(USERS_INFO, args.user_id) === undefined) throw new Error(`user ${args.user_id} does not exist`);
        remove(USERS_CERTS, args.user_id);
        remove(USERS_INFO, args.user_id);
      },
    },
  ],
  [
    "set_constitution",
    {
      validate(args) {
        checkPlainObject(args, "args");
        checkOnlyKeys(args, ["constitution"], "args");
        checkString(args.constitution, "args.constitution", { max: 1024 * 1024 });
      },
      apply(args) {
        ccf.kv[CONSTITUTION].set(ccf.strToBuf("0"), ccf.strToBuf(args.constitution));
      },
    },
  ],
]);

function parseActions(proposal) {
  const parsed = JSON.parse(proposal);
  if (!parsed || !Array.isArray(parsed.actions)) throw new Error("a proposal is an object with an actions array");
  return parsed.actions;
}

// ---------------------------------------------------------------------------------------------------------------
// The constitution interface.

export function validate(input) {
  let proposalActions;
  try {
    proposalActions = parseActions(input);
  } catch (error) {
    return { valid: false, description: error.message };
  }
  for (const [position, action] of proposalActions.entries()) {
    const definition = actions.get(action.name);
    if (definition === undefined) {
      return { valid: false, description: `${action.name} at position ${position} is not a known action` };
    }
    try {
      definition.validate(action.args ?? {});
    } catch (error) {
      return { valid: false, description: `${action.name} at position ${position} failed validation: ${error.message}` };
    }
  }
  return { valid: true, description: "Proposal is valid" };
}

export function resolve(proposal, proposerId, votes) {
  const voters = countedActiveMembers();
  // Fail closed: with nobody counted, unanimity would be vacuous and every proposal would pass.
  if (voters.length === 0) return "Open";
  const yes = votes.filter((v) => v.vote === true && voters.includes(v.member_id)).length;
  return yes === voters.length ? "Accepted" : "Open";
}

export function apply(proposal, proposalId) {
  for (const action of parseActions(proposal)) {
    actions.get(action.name).apply(action.args ?? {}, proposalId);
  }
}

/** Cleanroom extension: the members whose votes acceptance requires (the service subtracts those who voted). */
export function requiredVoters(proposal, proposerId) {
  return countedActiveMembers();
}
