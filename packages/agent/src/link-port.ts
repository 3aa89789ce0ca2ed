import type { GovernanceLink } from "@cleanroom/runtime";
import type { GovernancePort } from "./governance-port.js";

/** The agent's view of governance through the runtime's attested link: exactly the calls the run logic makes. */
export function governancePortOf(link: GovernanceLink): GovernancePort {
  return {
    acceptedDocument: (documentId) => link.acceptedDocument(documentId),
    documentApprovalStatus: (documentId) => link.documentApprovalStatus(documentId),
    contractConsent: (option) => link.contractConsent(option),
    documentConsent: (documentId, option) => link.documentConsent(documentId, option),
    releaseSecret: (secretId) => link.releaseSecret(secretId),
    issueToken: (request) => link.issueToken(request),
    putEvent: (event) => link.putEvent(event),
    certificateCallerStatus: (certificatePem) => link.certificateCallerStatus(certificatePem),
    tokenCallerStatus: (token) => link.tokenCallerStatus(token),
  };
}
