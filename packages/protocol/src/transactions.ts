import { z } from "zod";

/** `view.seqno`, the id CCF gives every write transaction. */
export const TxIdStringSchema = z.string().regex(/^[1-9][0-9]{0,15}\.[1-9][0-9]{0,15}$/, "expected <view>.<seqno>");

export interface ParsedTxId {
  view: number;
  seqno: number;
}

export function parseTxId(value: string): ParsedTxId | undefined {
  if (!TxIdStringSchema.safeParse(value).success) return undefined;
  const [view, seqno] = value.split(".").map(Number) as [number, number];
  return Number.isSafeInteger(view) && Number.isSafeInteger(seqno) ? { view, seqno } : undefined;
}

export function formatTxId(txId: ParsedTxId): string {
  return `${txId.view}.${txId.seqno}`;
}

/** The response header carrying the id of the transaction a write produced (or a read observed). */
export const TX_ID_HEADER = "x-ms-ccf-transaction-id";

export const TxStatusSchema = z.enum(["Committed", "Pending", "Unknown", "Invalid"]);

export const TransactionStatusResponseSchema = z.object({
  transactionId: TxIdStringSchema,
  status: TxStatusSchema,
});
export type TransactionStatusResponse = z.infer<typeof TransactionStatusResponseSchema>;

const Hex64 = z.string().regex(/^[0-9a-f]{64}$/);
const ProofStep = z.union([z.strictObject({ left: Hex64 }), z.strictObject({ right: Hex64 })]);

/** A receipt for an ordinary transaction, in CCF's JSON receipt format. */
export const TxReceiptSchema = z.object({
  cert: z.string(),
  is_signature_transaction: z.literal(false),
  leaf_components: z.object({
    claims_digest: Hex64,
    commit_evidence: z.string().regex(/^ce:[0-9]+\.[0-9]+:[0-9a-f]+$/),
    write_set_digest: Hex64,
  }),
  node_id: Hex64,
  proof: z.array(ProofStep),
  signature: z.base64(),
});

/** A receipt for a signature transaction: `leaf` is the Merkle root it signed, and the proof is empty. */
export const SignatureReceiptSchema = z.object({
  cert: z.string(),
  is_signature_transaction: z.literal(true),
  leaf: Hex64,
  node_id: Hex64,
  proof: z.array(ProofStep).max(0),
  signature: z.base64(),
});

export const ReceiptSchema = z.discriminatedUnion("is_signature_transaction", [TxReceiptSchema, SignatureReceiptSchema]);
export type Receipt = z.infer<typeof ReceiptSchema>;
