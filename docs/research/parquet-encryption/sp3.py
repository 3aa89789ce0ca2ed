from pyspark.sql import SparkSession
K='QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE='
spark = SparkSession.builder.master('local[2]').config('spark.jars','/tmp/pme-research/java/pme-crypto.jar').config('spark.ui.enabled','false').getOrCreate()
spark.sparkContext.setLogLevel('ERROR'); hc = spark.sparkContext._jsc.hadoopConfiguration()
hc.set('parquet.crypto.factory.class','pme.DirectKeyFactory'); hc.set('pme.uniform.key.b64', K)
df = spark.range(100000).selectExpr('id as i', "concat('x', id) as s").coalesce(1)
df.write.mode('overwrite').parquet('/tmp/pme-research/files/var_spark_default')
hc.set('parquet.page.row.count.limit', str(1<<30)); hc.set('parquet.page.size', str(1<<30))
df.write.mode('overwrite').parquet('/tmp/pme-research/files/var_spark_onepage')
print('written')
