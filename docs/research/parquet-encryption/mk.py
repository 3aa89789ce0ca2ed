import pyarrow as pa, pyarrow.parquet as pq, pyarrow.parquet.encryption as pe, base64, json, os
K = b'A'*32
t = pa.table({'i': pa.array(range(1000), pa.int64()), 's': pa.array(['x%d'%i for i in range(1000)])})
D='/tmp/pme-research/files/'
pq.write_table(t, D+'pa_direct.parquet', encryption_properties=pe.create_encryption_properties(K))
pq.write_table(t, D+'pa_direct_aad.parquet', encryption_properties=pe.create_encryption_properties(K, aad_prefix=b'tbl1'))
pq.write_table(t, D+'pa_direct_ctr.parquet', encryption_properties=pe.create_encryption_properties(K, encryption_algorithm='AES_GCM_CTR_V1'))
pq.write_table(t, D+'pa_direct_16.parquet', encryption_properties=pe.create_encryption_properties(b'B'*16))
# CryptoFactory with in-memory KMS (mimics parquet InMemoryKMS: AES-GCM wrap with master key)
captured = {}
class InMemKms(pe.KmsClient):
    def __init__(self, cfg):
        super().__init__(); self.keys = {k: base64.b64decode(v) for k, v in cfg.custom_kms_conf.items()}
    def wrap_key(self, key_bytes, mid):
        captured[mid] = bytes(key_bytes)
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        n = os.urandom(12); return base64.b64encode(n + AESGCM(self.keys[mid]).encrypt(n, key_bytes, mid.encode()))
    def unwrap_key(self, w, mid):
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        b = base64.b64decode(w); return AESGCM(self.keys[mid]).decrypt(b[:12], b[12:], mid.encode())
kcfg = pe.KmsConnectionConfig(custom_kms_conf={'mk': base64.b64encode(K).decode()})
cf = pe.CryptoFactory(lambda cfg: InMemKms(cfg))
ec = pe.EncryptionConfiguration(footer_key='mk', uniform_encryption=True, double_wrapping=False, data_key_length_bits=256)
pq.write_table(t, D+'pa_cf.parquet', encryption_properties=cf.file_encryption_properties(kcfg, ec))
print('captured DEK (b64) for pa_cf:', {k: base64.b64encode(v).decode() for k,v in captured.items()})
open(D+'pa_cf.dek','w').write(base64.b64encode(captured['mk']).decode())
