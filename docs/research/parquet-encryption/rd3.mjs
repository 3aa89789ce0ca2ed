import { DuckDBInstance } from '@duckdb/node-api';
const c = await (await DuckDBInstance.create(':memory:')).connect();
const q = async (s, l) => { try { const r = await c.runAndReadAll(s); console.log('OK  ', l, JSON.stringify(r.getRowObjectsJson())); } catch (e) { console.log('FAIL', l, '=>', e.message.split('\n')[0]); } };
const F='/tmp/pme-research/files/';
await c.run("PRAGMA add_parquet_key('b16', 'QkJCQkJCQkJCQkJCQkJCQg==')"); await c.run("PRAGMA add_parquet_key('b24', 'Q0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0ND')"); await c.run("PRAGMA add_parquet_key('r24', 'CCCCCCCCCCCCCCCCCCCCCCCC')");
await q(`select count(*) from read_parquet('${F}pa_direct_16.parquet', encryption_config={footer_key:'b16'})`, '16-byte key given as base64 (24 chars)');
await q(`select count(*) from read_parquet('${F}pa_24.parquet', encryption_config={footer_key:'b24'})`, '24-byte key given as base64 (32 chars)');
await q(`select count(*) from read_parquet('${F}pa_24.parquet', encryption_config={footer_key:'r24'})`, '24-byte key given raw');
