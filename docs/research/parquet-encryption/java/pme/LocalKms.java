package pme;
import org.apache.hadoop.conf.Configuration;
import org.apache.parquet.crypto.KeyAccessDeniedException;
import org.apache.parquet.crypto.keytools.*;
import java.nio.charset.StandardCharsets;
import java.util.*;
/** Same wire format as parquet-mr's test InMemoryKMS: base64(nonce||AES-GCM(masterKey, DEK, AAD=masterKeyId)). Keys from "pme.master.keys" = "id:base64,id2:base64". */
public class LocalKms implements KmsClient {
  private final Map<String, byte[]> keys = new HashMap<>();
  public void initialize(Configuration conf, String id, String url, String token) {
    for (String kv : conf.getTrimmedStrings("pme.master.keys")) { String[] p = kv.split(":", 2); keys.put(p[0].trim(), Base64.getDecoder().decode(p[1].trim())); }
  }
  private byte[] mk(String id) { byte[] k = keys.get(id); if (k == null) throw new KeyAccessDeniedException("no master key " + id); return k; }
  public String wrapKey(byte[] dek, String id) { return KeyToolkit.encryptKeyLocally(dek, mk(id), id.getBytes(StandardCharsets.UTF_8)); }
  public byte[] unwrapKey(String w, String id) { return KeyToolkit.decryptKeyLocally(w, mk(id), id.getBytes(StandardCharsets.UTF_8)); }
}
