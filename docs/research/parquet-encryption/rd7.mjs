import { DuckDBInstance } from '@duckdb/node-api';
const c = await (await DuckDBInstance.create(':memory:')).connect();
await c.run("PRAGMA add_parquet_key('k', 'QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=')");
for (const d of ['var_spark_default', 'var_spark_onepage']) {
  try { const r = await c.runAndReadAll(`select count(*) n, sum(i) s from read_parquet('/tmp/pme-research/files/${d}/*.parquet', encryption_config={footer_key:'k'})`); console.log('OK  ', d, JSON.stringify(r.getRowObjectsJson())); }
  catch (e) { console.log('FAIL', d, e.message.split('\n')[0]); }
}
