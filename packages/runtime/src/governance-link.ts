import { checkStatus, HttpsTransport, jsonBody, parseJson, ServiceError, type HttpResponse } from "@cleanroom/governance-client";
import {
  AcceptedUserDocumentSchema,
  ApiError,
  CallerStatusSchema,
  describeFirstIssue,
  UserDocumentApprovalStatusSchema,
  type AcceptedUserDocument,
  type AttestationMode,
  type CallerStatus,
  type RuntimeOptionStatus,
  type UserDocumentApprovalStatus,
} from "@cleanroom/protocol";
import type { z } from "zod";
import type { AttestationSource } from "./attestation-sources.js";
import type { WorkloadKey } from "./workload-key.js";

export interface GovernanceLinkOptions {
  /** The governance service, e.g. `https://127.0.0.1:8443`. */
  url: string;
  /** Its pinned certificate: the only trust anchor for the connection. */
  serviceCertificatePem: string;
  contractId: string;
  key: WorkloadKey;
  source: AttestationSource;
}

const path = (...segments: string[]) => segments.map(encodeURIComponent).join("/");

/** What Node refuses to put in a header value (it would throw before sending, which is no answer of the service). */
const UNSENDABLE_HEADER = /[^\t\x20-\x7e\x80-\xff]/;

/**
 * An answer the workload decides on (whether a caller is active, who approved a document) is checked against its
 * schema, so that a service of another version fails closed here instead of deep inside the workload.
 */
function parseAnswer<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new ServiceError(502, "UnexpectedResponse", `${what}: the governance service's answer is malformed (${describeFirstIssue(result.error, "answer")}).`);
  return result.data;
}

/**
 * The workload's side of the governance service's attested endpoints. The evidence is obtained once, bound to the
 * workload key, and sent with every request: the service verifies it (and its policy) each time, so a revoked
 * policy or consent takes effect on the next call. Service errors surface as `ServiceError` with their code.
 */
export class GovernanceLink {
  readonly #transport: HttpsTransport;
  readonly #options: GovernanceLinkOptions;
  #evidence: Promise<Record<string, unknown>> | undefined;

  constructor(options: GovernanceLinkOptions) {
    this.#options = options;
    this.#transport = new HttpsTransport(options.url, { serviceCertificatePem: options.serviceCertificatePem });
  }

  get contractId(): string {
    return this.#options.contractId;
  }

  /** The evidence bound to the workload key (obtained on first use; a failed attempt is retried next time). */
  evidence(): Promise<Record<string, unknown>> {
    this.#evidence ??= this.#options.source.evidenceFor(this.#options.key.publicKeyPem).catch((error: unknown) => {
      this.#evidence = undefined;
      throw new ApiError("AttestationUnavailable", `No attestation from ${this.#options.source.description}: ${(error as Error).message}`);
    });
    return this.#evidence;
  }

  #unwrap(wrapped: unknown): Buffer {
    try {
      if (typeof wrapped !== "string") throw new Error("the response has no wrapped value");
      return this.#options.key.unwrap(wrapped);
    } catch (error) {
      throw new ApiError("UnwrapFailed", `The governance service's answer does not unwrap with the workload key: ${(error as Error).message}`);
    }
  }

  async #attested(extra: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    return { attestation: await this.evidence(), platform: "snp-caci", encrypt: { publicKey: this.#options.key.publicKeyBase64 }, ...extra };
  }

  /** A signed request (`sign`, `data`) of the workload: `data` is the JSON of `payload`, signed with the workload key. */
  async #signed(payload: unknown): Promise<Record<string, unknown>> {
    const data = Buffer.from(JSON.stringify(payload), "utf8");
    return {
      attestation: await this.evidence(),
      platform: "snp-caci",
      sign: { signature: this.#options.key.sign(data).toString("base64"), publicKey: this.#options.key.publicKeyBase64 },
      data: data.toString("base64"),
    };
  }

  /** Service errors keep their code (ServiceError); a service that cannot be reached is GovernanceUnavailable. */
  async #post(method: "POST" | "PUT", route: string, body: unknown, what: string, headers: Record<string, string> = {}): Promise<unknown> {
    let response: HttpResponse;
    try {
      response = await this.#transport.send(method, route, body === undefined ? undefined : jsonBody(body), headers);
    } catch (error) {
      throw new ApiError("GovernanceUnavailable", `${what}: the governance service at ${this.#options.url} is unreachable (${(error as Error).message}).`);
    }
    return parseJson(checkStatus(response, what));
  }

  #contractPath(...segments: string[]): string {
    return `/app/contracts/${path(this.#options.contractId, ...segments)}`;
  }

  /** A secret of the contract, unwrapped. */
  async releaseSecret(secretId: string): Promise<{ value: string; attestationMode: AttestationMode }> {
    const response = (await this.#post("POST", this.#contractPath("secrets", secretId), await this.#attested(), "Secret release")) as { value: string; attestationMode: AttestationMode };
    return { value: this.#unwrap(response.value).toString("utf8"), attestationMode: response.attestationMode };
  }

  /** An ID token of the consortium's issuer for `sub` and `aud`, unwrapped. */
  async issueToken(request: { sub: string; aud: string; lifetime?: number }): Promise<{ token: string; attestationMode: AttestationMode }> {
    const query = new URLSearchParams({ sub: request.sub, aud: request.aud, ...(request.lifetime !== undefined ? { lifetime: String(request.lifetime) } : {}) });
    const response = (await this.#post("POST", `${this.#contractPath("oauth", "token")}?${query.toString()}`, await this.#attested(), "Token request")) as {
      value: string;
      attestationMode: AttestationMode;
    };
    return { token: this.#unwrap(response.value).toString("utf8"), attestationMode: response.attestationMode };
  }

  /** Consent for the contract (`execution`, `logging`, `telemetry`). */
  async contractConsent(option: string): Promise<RuntimeOptionStatus> {
    return (await this.#post("POST", this.#contractPath("runtimeoptions", option, "status"), await this.#attested(), "Consent check")) as RuntimeOptionStatus;
  }

  /** Consent for a user document of the contract (`execution`, `telemetry`). */
  async documentConsent(documentId: string, option: string): Promise<RuntimeOptionStatus> {
    return (await this.#post("POST", this.#contractPath("userdocuments", documentId, "runtimeoptions", option, "status"), await this.#attested(), "Consent check")) as RuntimeOptionStatus;
  }

  /** An accepted user document of the contract, unwrapped and parsed: its content, owner and every approver's ballot. */
  async acceptedDocument(documentId: string): Promise<AcceptedUserDocument> {
    const response = (await this.#post("POST", this.#contractPath("userdocuments", "accepted", documentId), await this.#attested(), "Document fetch")) as { value?: unknown } | undefined;
    let document: unknown;
    try {
      document = JSON.parse(this.#unwrap(response?.value).toString("utf8"));
    } catch (error) {
      if (error instanceof ApiError) throw error;
      throw new ServiceError(502, "UnexpectedResponse", "Document fetch: the unwrapped document is not JSON.");
    }
    return parseAnswer(AcceptedUserDocumentSchema, document, "Document fetch");
  }

  /** Where a user document of the contract stands in its approval (any state; without its data). */
  async documentApprovalStatus(documentId: string): Promise<UserDocumentApprovalStatus> {
    const what = "Approval status check";
    const answer = await this.#post("POST", this.#contractPath("userdocuments", documentId, "approvalstatus"), await this.#attested(), what);
    return parseAnswer(UserDocumentApprovalStatusSchema, answer, what);
  }

  /**
   * Whether the TLS client certificate (PEM) a caller presented to the workload is an active member's or certificate
   * user's. Not active is the service's 403 (CertificateNotRegistered, MemberNotActive) as a ServiceError. The request
   * is signed with the workload key, so only the attested workload can ask.
   */
  async certificateCallerStatus(certificatePem: string): Promise<CallerStatus> {
    const what = "Caller check";
    const answer = await this.#post("POST", this.#contractPath("callers", "status"), await this.#signed({ certificate: certificatePem }), what);
    return parseAnswer(CallerStatusSchema, answer, what);
  }

  /**
   * Whether the bearer of `token` (a JWT user's token, forwarded as the workload received it) is an active user: the
   * service answers as it would answer that caller. No attestation: the token speaks for itself. An invalid token is
   * the service's refusal (401 InvalidAuthenticationInfo, 403 CallerNotAuthorized, ...) as a ServiceError.
   */
  async tokenCallerStatus(token: string): Promise<CallerStatus> {
    const what = "Caller check";
    if (UNSENDABLE_HEADER.test(token)) {
      // The service's answer to any token it cannot read; Node would throw instead of sending it.
      throw new ApiError("InvalidAuthenticationInfo", "The Authorization header must be 'Bearer <token>'; the token has characters no header can carry.");
    }
    const answer = await this.#post("POST", "/app/users/identities/self/status", undefined, what, { authorization: `Bearer ${token}` });
    return parseAnswer(CallerStatusSchema, answer, what);
  }

  /**
   * Appends an event to the contract's log, signed by the workload key (the service checks the signature against
   * the key bound into the attestation, so the event provably comes from the attested workload).
   */
  async putEvent(event: { data: unknown; id?: string; scope?: string }): Promise<void> {
    const query = new URLSearchParams({ ...(event.id !== undefined ? { id: event.id } : {}), ...(event.scope !== undefined ? { scope: event.scope } : {}) });
    const body = { timestamp: String(Date.now()), ...(await this.#signed(event.data)) };
    const suffix = query.size > 0 ? `?${query.toString()}` : "";
    await this.#post("PUT", `${this.#contractPath("events")}${suffix}`, body, "Event write");
  }

  close(): void {
    this.#transport.close();
  }
}
