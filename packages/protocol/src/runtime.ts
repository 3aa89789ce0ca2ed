import { z } from "zod";
import { AttestationModeSchema, EventIdSchema, EventScopeSchema, RuntimeOptionStatusSchema } from "./app.js";

// The runtime sidecar's localhost API: what a confidential workload (the Spark job, any non-TypeScript code) calls
// to get its secrets, ID tokens, consent answers and documents, and to write signed events.

/** `POST /oauth/token`: `sub` defaults to the contract id; `lifetime` in seconds (the service caps it). */
export const SidecarTokenRequestSchema = z.strictObject({
  sub: z.string().min(1).max(256).optional(),
  aud: z.string().min(1).max(512),
  lifetime: z.number().int().positive().max(86_400).optional(),
});
export type SidecarTokenRequest = z.infer<typeof SidecarTokenRequestSchema>;

export const SidecarTokenResponseSchema = z.object({ token: z.string(), attestationMode: AttestationModeSchema });

/** `POST /secrets/{secretId}`: the secret's value, unwrapped inside the workload. */
export const SidecarSecretResponseSchema = z.object({ value: z.string(), attestationMode: AttestationModeSchema });

/** `PUT /events`: `data` is any JSON; the sidecar signs it with the workload key. */
export const SidecarEventRequestSchema = z.strictObject({
  data: z.unknown().refine((value) => value !== undefined, "data is required"),
  id: EventIdSchema.optional(),
  scope: EventScopeSchema.optional(),
});
export type SidecarEventRequest = z.infer<typeof SidecarEventRequestSchema>;

export const SidecarConsentResponseSchema = RuntimeOptionStatusSchema;

/** `GET /attestation`: who this workload is, as the governance service will see it. */
export const SidecarInfoSchema = z.object({
  contractId: z.string(),
  attestationMode: AttestationModeSchema,
  source: z.string(),
  /** HOST_DATA of the workload when the source knows it (virtual platform). */
  hostData: z.string().optional(),
  /** The workload's public key PEM, bound into the report data. */
  publicKey: z.string(),
});
export type SidecarInfo = z.infer<typeof SidecarInfoSchema>;
