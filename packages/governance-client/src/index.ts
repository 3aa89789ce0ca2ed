export {
  GovernanceClient,
  type GovernanceClientOptions,
  type JwtIssuerProposal,
  type TokenSource,
  type UserData,
  type UserIdentityProposal,
  type UserInvitationProposal,
  type Written,
} from "./governance-client.js";
export { ClientCheckError } from "./errors.js";
export { HttpsTransport, ServiceError, checkStatus, jsonBody, parseJson, type HttpResponse, type TlsOptions } from "./http.js";
export { eventListPath, type EventQuery } from "./paths.js";
