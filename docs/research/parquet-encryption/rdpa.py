import pyarrow.parquet as pq, pyarrow.parquet.encryption as pe, struct, base64, os
D='/tmp/pme-research/files/'
K=b'A'*32
def region(f):
    b=open(D+f,'rb').read(); assert b[-4:]==b'PARE'; n=struct.unpack('<I',b[-8:-4])[0]; return b[-8-n:-8]
for f in ['pa_direct.parquet','pa_cf.parquet','duck_ssl.parquet','duck_mbed_small.parquet']:
    r=region(f); print(f,'FileCryptoMetaData+footer head:', r[:60])
for f,k in [('duck_ssl.parquet',K),('duck_mbed_small.parquet',b'0123456789112345'),('pa_direct.parquet',K),('pa_direct_tamper_data.parquet',K),('pa_direct_tamper_footer.parquet',K),('duck_ssl_tamper_data.parquet',K),('duck_ssl_tamper_footer.parquet',K)]:
    try:
        t=pq.read_table(D+f, decryption_properties=pe.create_decryption_properties(k)); print('OK  ',f,t.num_rows, t.column('i').to_pylist()[-1])
    except Exception as e: print('FAIL',f,'=>',type(e).__name__, str(e).split('\n')[0][:200])
# CryptoFactory reading a DuckDB file
import importlib.util, sys
spec=importlib.util.spec_from_file_location('mk','/tmp/pme-research/mkkms.py')
