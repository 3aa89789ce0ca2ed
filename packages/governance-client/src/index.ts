export { GovernanceClient, type GovernanceClientOptions, type Written } from "./governance-client.js";
export { HttpsTransport, ServiceError, checkStatus, parseJson, type HttpResponse, type TlsOptions } from "./http.js";
