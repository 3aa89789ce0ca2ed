package pme;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.crypto.*;
import org.apache.parquet.hadoop.api.WriteSupport;
import java.util.Base64;
/** Uniform PME with a directly supplied key ("pme.uniform.key.b64"), no KMS / key_metadata. */
public class DirectKeyFactory implements EncryptionPropertiesFactory, DecryptionPropertiesFactory {
  static byte[] key(Configuration c) { return Base64.getDecoder().decode(c.get("pme.uniform.key.b64")); }
  public FileEncryptionProperties getFileEncryptionProperties(Configuration c, Path p, WriteSupport.WriteContext w) {
    return FileEncryptionProperties.builder(key(c)).withAlgorithm(ParquetCipher.AES_GCM_V1).build(); }
  public FileDecryptionProperties getFileDecryptionProperties(Configuration c, Path p) {
    return FileDecryptionProperties.builder().withFooterKey(key(c)).build(); }
}
