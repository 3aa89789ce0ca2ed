import { checkStatus, HttpsTransport, jsonBody, parseJson, type HttpResponse } from "@cleanroom/governance-client";
import { ApiError, type AttestationMode, type RuntimeOptionStatus } from "@cleanroom/protocol";
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

  /** Service errors keep their code (ServiceError); a service that cannot be reached is GovernanceUnavailable. */
  async #post(method: "POST" | "PUT", route: string, body: unknown, what: string): Promise<unknown> {
    let response: HttpResponse;
    try {
      response = await this.#transport.send(method, route, jsonBody(body));
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

  /** An accepted user document of the contract, unwrapped and parsed. */
  async acceptedDocument(documentId: string): Promise<unknown> {
    const response = (await this.#post("POST", this.#contractPath("userdocuments", "accepted", documentId), await this.#attested(), "Document fetch")) as { value: string };
    return JSON.parse(this.#unwrap(response.value).toString("utf8")) as unknown;
  }

  /**
   * Appends an event to the contract's log, signed by the workload key (the service checks the signature against
   * the key bound into the attestation, so the event provably comes from the attested workload).
   */
  async putEvent(event: { data: unknown; id?: string; scope?: string }): Promise<void> {
    const data = Buffer.from(JSON.stringify(event.data), "utf8");
    const query = new URLSearchParams({ ...(event.id !== undefined ? { id: event.id } : {}), ...(event.scope !== undefined ? { scope: event.scope } : {}) });
    const body = {
      timestamp: String(Date.now()),
      attestation: await this.evidence(),
      platform: "snp-caci",
      sign: { signature: this.#options.key.sign(data).toString("base64"), publicKey: this.#options.key.publicKeyBase64 },
      data: data.toString("base64"),
    };
    const suffix = query.size > 0 ? `?${query.toString()}` : "";
    await this.#post("PUT", `${this.#contractPath("events")}${suffix}`, body, "Event write");
  }

  close(): void {
    this.#transport.close();
  }
}
