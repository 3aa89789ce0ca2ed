import sys, time, glob, os
from pyspark.sql import SparkSession
t0=time.time()
K='QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE='
spark = (SparkSession.builder.master('local[2]').appName('pme')
  .config('spark.jars', '/tmp/pme-research/java/pme-crypto.jar')
  .config('spark.ui.enabled','false').getOrCreate())
spark.sparkContext.setLogLevel('ERROR')
hc = spark.sparkContext._jsc.hadoopConfiguration()
F='/tmp/pme-research/files/'
def kms_mode():
    hc.set('parquet.crypto.factory.class','org.apache.parquet.crypto.keytools.PropertiesDrivenCryptoFactory')
    hc.set('parquet.encryption.kms.client.class','pme.LocalKms'); hc.set('pme.master.keys','mk:'+K)
def direct_mode():
    hc.set('parquet.crypto.factory.class','pme.DirectKeyFactory'); hc.set('pme.uniform.key.b64', K)
def rd(label, f):
    try:
        r = spark.read.parquet(F+f).selectExpr('count(*) n','sum(i) s','max(s) m').collect()[0]; print('OK  ', label, f, tuple(r))
    except Exception as e:
        msg = str(e); lines=[l for l in msg.split('\n') if 'Exception' in l or 'Error' in l][:3]; print('FAIL', label, f, '=>', ' | '.join(l.strip()[:220] for l in lines))
kms_mode()
for f in ['pa_cf.parquet','pa_direct.parquet']: rd('PropertiesDriven+LocalKms', f)
direct_mode()
for f in ['pa_direct.parquet','pa_direct_16.parquet','duck_ssl.parquet','pa_direct_tamper_data.parquet','pa_direct_tamper_footer.parquet','pa_cf.parquet']: rd('DirectKeyFactory', f)
df = spark.range(1000).selectExpr('id as i', "concat('x', id) as s").coalesce(1)
kms_mode(); hc.set('parquet.encryption.uniform.key','mk'); hc.set('parquet.encryption.double.wrapping','false')
df.write.mode('overwrite').parquet(F+'spark_kms'); rd('PropertiesDriven+LocalKms', 'spark_kms')
hc.unset('parquet.encryption.uniform.key')
direct_mode(); df.write.mode('overwrite').parquet(F+'spark_direct'); rd('DirectKeyFactory', 'spark_direct')
hc.unset('parquet.crypto.factory.class'); rd('no crypto conf', 'pa_direct.parquet')
print('elapsed', round(time.time()-t0,1))
