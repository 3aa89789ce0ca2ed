import { DuckDBInstance } from '@duckdb/node-api';
import fs from 'fs';
const c = await (await DuckDBInstance.create(':memory:')).connect();
await c.run("PRAGMA add_parquet_key('k', 'QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=')");
for (const f of fs.readdirSync('/tmp/pme-research/files').filter(x => x.startsWith('var_')).sort()) {
  try { const r = await c.runAndReadAll(`select count(*) n from read_parquet('/tmp/pme-research/files/${f}', encryption_config={footer_key:'k'})`); const r2 = await c.runAndReadAll(`select * from read_parquet('/tmp/pme-research/files/${f}', encryption_config={footer_key:'k'})`); console.log('OK  ', f, r2.currentRowCount); }
  catch (e) { console.log('FAIL', f, e.message.split('\n')[0]); }
}
