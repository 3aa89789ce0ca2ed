from pyspark.sql import SparkSession
K='QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE='
spark = SparkSession.builder.master('local[2]').config('spark.driver.memory','2g').config('spark.jars','/tmp/pme-research/java/pme-crypto.jar').config('spark.ui.enabled','false').getOrCreate()
spark.sparkContext.setLogLevel('ERROR'); hc = spark.sparkContext._jsc.hadoopConfiguration()
hc.set('parquet.crypto.factory.class','pme.DirectKeyFactory'); hc.set('pme.uniform.key.b64', K)
hc.set('parquet.page.row.count.limit', '2000000000'); hc.set('parquet.page.size', str(16<<20)); hc.set('parquet.block.size', str(16<<20))
df = spark.range(300000).selectExpr('id as i', "concat('uniq-', id) as u", "cast(id % 50 as string) s").coalesce(1)
df.write.mode('overwrite').parquet('/tmp/pme-research/files/var_spark_onepage')
print('written')
