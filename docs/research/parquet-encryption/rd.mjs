import { createRequire } from 'module';
const dir = process.argv[2]; const ext = process.argv[3];
const { DuckDBInstance } = createRequire(dir + '/package.json')('@duckdb/node-api');
const inst = await DuckDBInstance.create(':memory:', { autoinstall_known_extensions: 'false' });
const c = await inst.connect();
const q = async (s, label) => { try { const r = await c.runAndReadAll(s); console.log('OK  ', label ?? s, JSON.stringify(r.getRowObjectsJson())); } catch (e) { console.log('FAIL', label ?? s, '=>', e.message.split('\n')[0]); } };
await q("select version() v");
if (ext) await q(`LOAD '${ext}'`, 'LOAD httpfs');
const fs = await import('fs');
const dek = fs.readFileSync('/tmp/pme-research/files/pa_cf.dek', 'utf8');
await q("PRAGMA add_parquet_key('k', 'QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=')");
await q("PRAGMA add_parquet_key('k16', 'BBBBBBBBBBBBBBBB')");
await q(`PRAGMA add_parquet_key('dek', '${dek}')`);
const F = '/tmp/pme-research/files/';
for (const [f, k] of [['pa_direct','k'],['pa_direct_16','k16'],['pa_direct_aad','k'],['pa_direct_ctr','k'],['pa_cf','k'],['pa_cf','dek'],['duck_ssl','k'],['pa_direct_tamper_data','k'],['pa_direct_tamper_footer','k'],['duck_ssl_tamper_data','k'],['duck_ssl_tamper_footer','k']])
  await q(`select count(*) n, sum(i) s, max(s) m from read_parquet('${F}${f}.parquet', encryption_config={footer_key: '${k}'})`, `${f} key=${k}`);
await q(`select count(*) from read_parquet('${F}pa_direct.parquet')`, 'pa_direct without key');
