import { DuckDBInstance } from '@duckdb/node-api';
const c = await (await DuckDBInstance.create(':memory:')).connect();
await c.run("PRAGMA add_parquet_key('k', 'QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=')");
try { const r = await c.runAndReadAll(`COPY (select i*2 as i2, s from read_parquet('/tmp/pme-research/files/var_recipe.parquet', encryption_config={footer_key:'k'})) TO '/tmp/pme-research/pipe.parquet' (FORMAT parquet)`); console.log('COPY to FIFO OK', JSON.stringify(r.getRowObjectsJson())); } catch (e) { console.log('COPY to FIFO FAIL', e.message); }
