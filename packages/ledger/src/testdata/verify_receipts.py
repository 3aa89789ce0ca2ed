"""Verifies Cleanroom ledger receipts with CCF's own receipt functions (the `ccf` PyPI package).

Usage: verify_receipts.py SERVICE_CERT_PEM RECEIPT_JSON...

Mirrors how CCF's end-to-end tests check a JSON receipt: recompute the leaf from its components (or take the signed
root of a signature transaction), fold the proof with ccf.receipt.root, verify the signature with ccf.receipt.verify
and the node certificate's endorsement with ccf.receipt.check_endorsements. Prints one line per receipt and exits 1
if any of them fails.
"""

import json
import sys
from hashlib import sha256

import ccf.receipt
from cryptography.hazmat.primitives import serialization
from cryptography.x509 import load_pem_x509_certificate


def leaf_of(receipt):
    if receipt["is_signature_transaction"]:
        assert receipt["proof"] == [], "a signature transaction's receipt has an empty proof"
        return receipt["leaf"]
    components = receipt["leaf_components"]
    return sha256(
        bytes.fromhex(components["write_set_digest"])
        + sha256(components["commit_evidence"].encode()).digest()
        + bytes.fromhex(components["claims_digest"])
    ).hexdigest()


def verify(receipt, service_cert):
    node_cert = load_pem_x509_certificate(receipt["cert"].encode())
    root = ccf.receipt.root(leaf_of(receipt), receipt["proof"])
    ccf.receipt.verify(root, receipt["signature"], node_cert)
    ccf.receipt.check_endorsements(node_cert, service_cert, [])
    public_key = node_cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert sha256(public_key).hexdigest() == receipt["node_id"], "node_id is not the node certificate's key"
    return root


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1], "rb") as f:
        service_cert = load_pem_x509_certificate(f.read())
    failures = 0
    for path in argv[2:]:
        with open(path) as f:
            receipt = json.load(f)
        try:
            root = verify(receipt, service_cert)
            print(f"OK {path} root={root}")
        except Exception as error:  # report every receipt, then fail
            failures += 1
            print(f"FAIL {path}: {type(error).__name__} {error}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
