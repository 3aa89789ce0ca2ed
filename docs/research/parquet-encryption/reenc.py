import sys, io, pyarrow.parquet as pq, pyarrow.parquet.encryption as pe, base64, os
src, dst = sys.argv[1], sys.argv[2]
key = base64.b64decode(os.environ['PME_KEY_B64'])
buf = open(src, 'rb').read()          # read plaintext parquet from the FIFO into memory only
t = pq.read_table(io.BytesIO(buf))
pq.write_table(t, dst, row_group_size=100000, max_rows_per_page=1<<30, data_page_size=1<<30, dictionary_pagesize_limit=1<<30,
               compression='zstd', encryption_properties=pe.create_encryption_properties(key))
print('re-encrypted', t.num_rows, 'rows ->', dst)
