import { DuckDBInstance } from '@duckdb/node-api';
import { readKeyMetadata, unwrapDek } from './dek.mjs';
import fs from 'fs';
const inst = await DuckDBInstance.create(':memory:'); const c = await inst.connect();
const q = async (s, label) => { try { const r = await c.runAndReadAll(s); console.log('OK  ', label ?? s, JSON.stringify(r.getRowObjectsJson())); } catch (e) { console.log('FAIL', label ?? s, '=>', e.message.split('\n')[0]); } };
const MK = { mk: Buffer.from('A'.repeat(32)) }; const F = '/tmp/pme-research/files/';
await q("PRAGMA add_parquet_key('k', 'QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=')");
await q(`select count(*) n, sum(i) s from read_parquet('${F}spark_direct/*.parquet', encryption_config={footer_key: 'k'})`, 'spark_direct key=k');
await q(`select count(*) n from read_parquet('${F}spark_kms/*.parquet', encryption_config={footer_key: 'k'})`, 'spark_kms key=master(k)');
for (const f of [...fs.readdirSync(F + 'spark_kms256').filter(x => x.endsWith('.parquet')).map(x => 'spark_kms256/' + x), 'pa_cf.parquet']) {
  const km = readKeyMetadata(F + f); console.log('key_metadata', f, km.slice(0, 200));
  const dek = unwrapDek(km, MK).toString('base64');
  await q(`PRAGMA add_parquet_key('dek1', '${dek}')`, 'add dek');
  await q(`select count(*) n, sum(i) s from read_parquet('${F}${f}', encryption_config={footer_key: 'dek1'})`, f + ' key=unwrapped DEK');
}
