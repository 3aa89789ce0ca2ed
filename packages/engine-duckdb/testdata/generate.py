"""Writes the encrypted Parquet fixtures of @cleanroom/engine-duckdb's tests (see README.md here).

The engine must not encrypt its own test inputs with DuckDB (DuckDB has no sound Parquet encryptor offline), so
the fixtures come from pyarrow's direct-key Parquet Modular Encryption API in the file profile of
docs/parquet-encryption.md: uniform, AES_GCM_V1, encrypted footer, no AAD prefix, data page V1, one data page per
column chunk, flat columns. Run from the repository root with the project's venv:

    .cache/python/bin/python packages/engine-duckdb/testdata/generate.py

Encryption draws random nonces, so each run writes different bytes with the same content.
"""

import base64
import pathlib

import pyarrow as pa
import pyarrow.parquet as pq
import pyarrow.parquet.encryption as pe

HERE = pathlib.Path(__file__).parent
# A test-only key, checked in beside the files it opens. Never a real data key.
KEY = base64.b64decode((HERE / "test-key.b64").read_text().strip())
assert len(KEY) == 32
HUGE = 1 << 30

table = pa.table(
    {
        "user_id": pa.array(["u1", "u2", "u3", "u4"], pa.string()),
        "conversions": pa.array([2, 1, 4, 1], pa.int64()),
        "revenue": pa.array([10.5, 3.0, 7.25, None], pa.float64()),
    }
)


def write(path: pathlib.Path, data_page_version: str = "1.0") -> None:
    properties = pe.create_encryption_properties(KEY, aad_prefix=None, encryption_algorithm="AES_GCM_V1")
    with pq.ParquetWriter(
        path, table.schema, compression="zstd", encryption_properties=properties,
        data_page_size=HUGE, dictionary_pagesize_limit=HUGE, max_rows_per_page=HUGE, data_page_version=data_page_version,
    ) as writer:
        writer.write_table(table)


write(HERE / "advertiser.encrypted.parquet")

# The same file with one byte of ciphertext flipped in the first column chunk, just past the 4-byte "PAR1" magic
# and the module's length and nonce, so that AES-GCM's tag check must fail.
data = bytearray((HERE / "advertiser.encrypted.parquet").read_bytes())
data[4 + 4 + 12 + 8] ^= 0x01
(HERE / "advertiser.tampered.parquet").write_bytes(bytes(data))

# Outside the profile: the same rows in data pages V2, which DuckDB 1.5 cannot decrypt.
write(HERE / "advertiser.page-v2.parquet", data_page_version="2.0")
