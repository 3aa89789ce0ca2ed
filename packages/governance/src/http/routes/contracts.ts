import {
  ApiError,
  AttestedCheckBodySchema,
  CleanRoomPolicySchema,
  ContractListQuerySchema,
  ContractListSchema,
  ContractRuntimeOptionSchema,
  ContractSchema,
  PutContractBodySchema,
  ResourceIdSchema,
  RuntimeOptionStatusSchema,
  WriteResultSchema,
  TX_ID_HEADER,
  type ErrorCode,
} from "@cleanroom/protocol";
import { z } from "zod";
import {
  cleanRoomPolicyView,
  contractRuntimeOptionStatus,
  contractView,
  listContracts,
  putContract,
  setExecutionConsent,
} from "../../governance/contracts.js";
import { verifyConsentChecker } from "../../governance/secret-release.js";
import { CALLER_READ_ERRORS, requireActiveMember } from "../authorization.js";
import { durableRead, durableWrite, type ServiceContext } from "../context.js";
import { ATTESTED_REQUEST_ERRORS } from "../attested-requests.js";
import { defineRoute, type RouteDefinition } from "../route-table.js";

const ContractParams = z.object({ contractId: ResourceIdSchema });
const OptionParams = ContractParams.extend({ option: z.string().max(64) });
const WRITE_ERRORS: readonly ErrorCode[] = [...CALLER_READ_ERRORS, "MemberOnly", "MemberNotActive"];

function parseOption(option: string) {
  const parsed = ContractRuntimeOptionSchema.safeParse(option);
  if (!parsed.success) throw new ApiError("InvalidOption", `Unknown runtime option '${option}'; contracts have execution, logging and telemetry.`);
  return parsed.data;
}

export function contractRoutes(ctx: ServiceContext): RouteDefinition[] {
  const readContract = (method: "GET" | "POST") =>
    defineRoute({
      method,
      path: "/app/contracts/{contractId}",
      summary: method === "GET" ? "Show a contract" : "Show a contract (CCF-style POST read)",
      description:
        "State is derived: Accepted (accepted record, with finalVotes), Proposed (the open set_contract proposal's snapshot, with votes so far and pendingVoters), or Draft.",
      tag: "Contracts",
      auth: "caller",
      params: ContractParams,
      response: { status: 200, description: "The contract.", schema: ContractSchema },
      errors: [...CALLER_READ_ERRORS, "ContractNotFound"],
      async handler({ params }) {
        const contract = contractView(ctx.ledger, ctx.engine, params.contractId);
        if (!contract) throw new ApiError("ContractNotFound", `Contract ${params.contractId} does not exist.`);
        return { body: contract, headers: await durableRead(ctx.ledger) };
      },
    });
  const readPolicy = (method: "GET" | "POST") =>
    defineRoute({
      method,
      path: "/app/contracts/{contractId}/cleanroompolicy",
      summary: method === "GET" ? "Show a contract's clean-room policy" : "Show a contract's clean-room policy (CCF-style POST read)",
      description:
        "The claims an attested workload must satisfy (`policy`: SEV-SNP confidential containers; `policies`: every type, including `jwt`), and the open `set_clean_room_policy` proposals.",
      tag: "Contracts",
      auth: "caller",
      params: ContractParams,
      response: { status: 200, description: "The policy.", schema: CleanRoomPolicySchema },
      errors: CALLER_READ_ERRORS,
      async handler({ params }) {
        return { body: cleanRoomPolicyView(ctx.ledger, params.contractId), headers: await durableRead(ctx.ledger) };
      },
    });
  const setConsent = (action: "enable" | "disable") =>
    defineRoute({
      method: "POST",
      path: `/app/contracts/{contractId}/runtimeoptions/{option}/${action}`,
      summary: `${action === "enable" ? "Enable" : "Disable"} execution of an accepted contract (per member)`,
      description:
        "Execution consent is recorded per member; the contract may run only while no member has it disabled. Only `execution` changes this way; logging and telemetry change by proposal.",
      tag: "Contracts",
      auth: "caller",
      params: OptionParams,
      response: { status: 200, description: "The effective status afterwards.", schema: RuntimeOptionStatusSchema },
      errors: [...WRITE_ERRORS, "InvalidOption", "ContractNotFound", "ContractNotAccepted"],
      async handler({ params, caller }) {
        const member = requireActiveMember(caller);
        const option = parseOption(params.option);
        const { result, headers } = await durableWrite(ctx.ledger, (tx) =>
          setExecutionConsent(tx, ctx.lifecycle.clock, member, params.contractId, option, action),
        );
        return { body: result, headers };
      },
    });

  return [
    defineRoute({
      method: "GET",
      path: "/app/contracts",
      summary: "List contracts",
      description: "Every contract with its derived state; `state` filters.",
      tag: "Contracts",
      auth: "caller",
      query: ContractListQuerySchema,
      response: { status: 200, description: "The contracts, by id.", schema: ContractListSchema },
      errors: CALLER_READ_ERRORS,
      async handler({ query }) {
        return { body: { value: listContracts(ctx.ledger, query.state) }, headers: await durableRead(ctx.ledger) };
      },
    }),
    defineRoute({
      method: "PUT",
      path: "/app/contracts/{contractId}",
      summary: "Create or update a draft contract",
      description:
        "Without `version` creates the contract; with the current `version` replaces its data. `data` is any JSON; `data.metadata.voters.requiredMembers` (a non-empty list of member ids) makes only those members decide its proposal. A contract under an open proposal, or accepted, cannot be edited. The new version is the transaction id.",
      tag: "Contracts",
      auth: "caller",
      params: ContractParams,
      body: PutContractBodySchema,
      response: { status: 200, description: "The contract id and its new version.", schema: WriteResultSchema },
      errors: [
        ...WRITE_ERRORS,
        "InvalidInput",
        "MalformedJson",
        "RequestTooLarge",
        "DataMissing",
        "ContractAlreadyAccepted",
        "ContractAlreadyExists",
        "ContractUnderProposal",
        "PreconditionFailed",
        "InvalidRequiredMembers",
      ],
      async handler({ params, body, caller }) {
        requireActiveMember(caller);
        const { headers } = await durableWrite(ctx.ledger, (tx) => putContract(tx, params.contractId, body));
        return { body: { id: params.contractId, version: headers[TX_ID_HEADER] }, headers };
      },
    }),
    readContract("GET"),
    readContract("POST"),
    defineRoute({
      method: "POST",
      path: "/app/contracts/{contractId}/runtimeoptions/{option}/status",
      summary: "Show a contract's runtime option status",
      description:
        "`execution`: enabled unless the contract is not accepted or a member disabled it (`reason` names them). `logging`/`telemetry`: the accepted status (default disabled) and the open proposals that would change it. Members and users call it with their identity; the clean room's consent check calls it anonymously with `{attestation, encrypt?}`, which must satisfy the contract's clean-room policy.",
      tag: "Contracts",
      auth: "callerOrAttested",
      params: OptionParams,
      body: AttestedCheckBodySchema,
      response: { status: 200, description: "The status.", schema: RuntimeOptionStatusSchema },
      errors: [...CALLER_READ_ERRORS, "InvalidOption", ...ATTESTED_REQUEST_ERRORS],
      async handler({ params, caller, body }) {
        const option = parseOption(params.option);
        if (!caller) verifyConsentChecker(ctx.ledger, ctx.attestation, params.contractId, body);
        return { body: contractRuntimeOptionStatus(ctx.ledger, params.contractId, option), headers: await durableRead(ctx.ledger) };
      },
    }),
    setConsent("enable"),
    setConsent("disable"),
    readPolicy("GET"),
    readPolicy("POST"),
  ];
}
