from pyspark.sql import SparkSession
K='QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE='
spark = SparkSession.builder.master('local[2]').config('spark.jars','/tmp/pme-research/java/pme-crypto.jar').config('spark.ui.enabled','false').getOrCreate()
spark.sparkContext.setLogLevel('ERROR'); hc = spark.sparkContext._jsc.hadoopConfiguration()
for k,v in {'parquet.crypto.factory.class':'org.apache.parquet.crypto.keytools.PropertiesDrivenCryptoFactory','parquet.encryption.kms.client.class':'pme.LocalKms','pme.master.keys':'mk:'+K,'parquet.encryption.uniform.key':'mk','parquet.encryption.double.wrapping':'false','parquet.encryption.data.key.length.bits':'256'}.items(): hc.set(k,v)
spark.range(1000).selectExpr('id as i', "concat('x', id) as s").coalesce(1).write.mode('overwrite').parquet('/tmp/pme-research/files/spark_kms256')
print('written')
