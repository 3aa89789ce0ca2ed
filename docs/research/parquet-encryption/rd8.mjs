import { DuckDBInstance } from '@duckdb/node-api';
const c = await (await DuckDBInstance.create(':memory:')).connect();
await c.run("PRAGMA add_parquet_key('k', 'QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=')");
for (const s of ["sum(c)", "max(ts), sum(d)", "count(*) filter (where a > 900)", "sum(c) filter (where b = '500')"]) {
  try { const r = await c.runAndReadAll(`select ${s} from read_parquet('/tmp/pme-research/files/var_flat5.parquet', encryption_config={footer_key:'k'})`); console.log('OK  ', s, JSON.stringify(r.getRowObjectsJson())); }
  catch (e) { console.log('FAIL', s, e.message.split('\n')[0]); }
}
