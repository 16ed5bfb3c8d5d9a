package dev.dataplat.metastore;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

import org.apache.hadoop.hive.conf.HiveConf;
import org.apache.hadoop.hive.conf.HiveConf.ConfVars;
import org.apache.hadoop.hive.metastore.HiveMetaException;
import org.apache.hadoop.hive.metastore.MetaStoreSchemaInfo;
import org.apache.hive.beeline.HiveSchemaHelper;
import org.apache.hive.beeline.HiveSchemaTool;

/**
 * Creates (or upgrades) the metastore's schema in PostgreSQL with Hive 2.3's own schema tool.
 *
 * <p>{@code java -cp <conf>:<jars> dev.dataplat.metastore.MetastoreSchema HIVE_HOME MARKER}:
 * the JDBC URL, user and password come from the {@code hive-site.xml} on the classpath (never from
 * the command line). {@code HIVE_HOME/scripts/metastore/upgrade/postgres} holds Hive's PostgreSQL
 * scripts as {@code dataplat install} takes them from Maven Central: Hive's full schema of 1.2.0
 * and its upgrades 1.2.0 to 2.3.0 (Hive 2.3's own {@code hive-schema-2.3.0.postgres.sql} is not
 * published there), transaction and lock tables included. An empty database is initialised to
 * 1.2.0 and upgraded; a database at an older version is upgraded; one at Hive's version is left
 * alone. Then the schema version and the lock tables are checked and {@code MARKER} is written.
 * A database with metastore tables but no {@code VERSION} table was not made by the schema tool
 * (DataNucleus' autoCreate): it is refused, not repaired.
 */
public final class MetastoreSchema {
  static final String DB_TYPE = "postgres";
  /** The oldest full PostgreSQL schema among the scripts installed; upgraded from there. */
  static final String BASE_VERSION = "1.2.0";

  private MetastoreSchema() {}

  public static void main(String[] args) throws Exception {
    if (args.length != 2) {
      System.err.println("usage: MetastoreSchema HIVE_HOME MARKER (JDBC settings from hive-site.xml)");
      System.exit(2);
    }
    String hiveHome = args[0];
    Path marker = Paths.get(args[1]);
    // as HiveSchemaTool.main: the tool checks the version it leaves behind
    System.setProperty(ConfVars.METASTORE_SCHEMA_VERIFICATION.varname, "true");
    HiveConf conf = new HiveConf(HiveSchemaTool.class);
    HiveSchemaTool tool = new HiveSchemaTool(hiveHome, conf, DB_TYPE);
    String user = conf.get(ConfVars.METASTORE_CONNECTION_USER_NAME.varname);
    char[] secret = conf.getPassword(ConfVars.METASTOREPWD.varname); // as the tool reads it
    String password = secret == null ? null : new String(secret);
    String hiveVersion = MetaStoreSchemaInfo.getHiveSchemaVersion();

    boolean versioned;
    try (Connection connection = connect(user, password, conf)) {
      DatabaseMetaData meta = connection.getMetaData();
      String schema = connection.getSchema();
      versioned = hasTable(meta, schema, "VERSION");
      if (!versioned && hasTable(meta, schema, "DBS")) {
        throw new HiveMetaException("the metastore database has tables but no \"VERSION\": it was "
            + "not made by the schema tool (DataNucleus autoCreate?); drop and recreate the "
            + "database, or restore a backup of a schema-tool database");
      }
    }
    if (!versioned) {
      System.out.println("metastore schema: empty database, initialising to " + BASE_VERSION);
      tool.doInit(BASE_VERSION);
    }
    tool.doUpgrade(); // from the database's version to Hive's; nothing to do when already there
    tool.verifySchemaVersion();
    try (Connection connection = connect(user, password, conf);
        Statement statement = connection.createStatement()) {
      // TxnHandler's own unquoted names: what HMSHandler.lock() will query
      statement.executeQuery("SELECT COUNT(*) FROM HIVE_LOCKS").close();
      statement.executeQuery("SELECT NL_NEXT FROM NEXT_LOCK_ID").close();
      statement.executeQuery("SELECT NTXN_NEXT FROM NEXT_TXN_ID").close();
    } catch (SQLException e) {
      throw new HiveMetaException("the metastore schema has no usable lock tables: " + e.getMessage(), e);
    }
    Path parent = marker.toAbsolutePath().getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
    Path partial = Paths.get(marker + ".tmp");
    Files.write(partial, (hiveVersion + "\n").getBytes(StandardCharsets.UTF_8));
    Files.move(partial, marker, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    System.out.println("metastore schema: at " + hiveVersion + " with transaction and lock tables");
  }

  private static Connection connect(String user, String password, HiveConf conf)
      throws HiveMetaException {
    return HiveSchemaHelper.getConnectionToMetastore(user, password, false, conf);
  }

  /** A table named exactly {@code name} (Hive's quoted upper-case names) in {@code schema}. */
  private static boolean hasTable(DatabaseMetaData meta, String schema, String name)
      throws SQLException {
    try (ResultSet tables = meta.getTables(null, schema, name, new String[] {"TABLE"})) {
      return tables.next();
    }
  }
}
