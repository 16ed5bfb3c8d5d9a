package dev.dataplat.metastore;

import java.lang.reflect.Field;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantLock;

import org.apache.hadoop.hive.common.LogUtils;
import org.apache.hadoop.hive.common.auth.HiveAuthUtils;
import org.apache.hadoop.hive.common.metrics.common.MetricsFactory;
import org.apache.hadoop.hive.conf.HiveConf;
import org.apache.hadoop.hive.conf.HiveConf.ConfVars;
import org.apache.hadoop.hive.metastore.HiveMetaStore;
import org.apache.hadoop.hive.metastore.HiveMetaStore.HMSHandler;
import org.apache.hadoop.hive.metastore.HiveMetaStore.HiveMetastoreCli;
import org.apache.hadoop.hive.metastore.IHMSHandler;
import org.apache.hadoop.hive.metastore.TServerSocketKeepAlive;
import org.apache.hadoop.hive.metastore.TSetIpAddressProcessor;
import org.apache.hadoop.hive.metastore.TUGIBasedProcessor;
import org.apache.hadoop.hive.shims.ShimLoader;
import org.apache.hadoop.hive.thrift.TUGIContainingTransport;
import org.apache.hadoop.util.StringUtils;
import org.apache.hive.common.util.HiveStringUtils;
import org.apache.hive.common.util.ShutdownHookManager;
import org.apache.thrift.TProcessor;
import org.apache.thrift.protocol.TBinaryProtocol;
import org.apache.thrift.protocol.TCompactProtocol;
import org.apache.thrift.protocol.TProtocol;
import org.apache.thrift.protocol.TProtocolFactory;
import org.apache.thrift.server.ServerContext;
import org.apache.thrift.server.TServer;
import org.apache.thrift.server.TServerEventHandler;
import org.apache.thrift.server.TThreadPoolServer;
import org.apache.thrift.transport.TServerSocket;
import org.apache.thrift.transport.TTransport;
import org.apache.thrift.transport.TTransportFactory;
import org.apache.thrift.transport.layered.TFramedTransport;

/**
 * Hive Metastore 2.3's Thrift server, listening on one address instead of every interface.
 *
 * <p>{@code HiveMetaStore.startMetaStore} in Hive 2.3.10 opens its socket with
 * {@code HiveAuthUtils.getServerSocket(null, port)}, i.e. the wildcard address, and no setting
 * changes that (Hive 3's standalone metastore added {@code metastore.thrift.bind.host}). This class
 * is {@code HiveMetaStore.main} and {@code startMetaStore} of 2.3.10 step for step: the same
 * command line ({@code -p PORT}, {@code --hiveconf k=v}, {@code -v}), HiveConf, background
 * threads, handler ({@code HMSHandler} behind {@code newRetryingHMSHandler}), processors,
 * transports, protocols, SSL and worker pool, so Spark's Hive 2.3 client and Trino see the same
 * server. Only the socket differs: it is bound to {@code hive.metastore.thrift.bind.host} (the
 * property name Hive 3+ reads), which is required. Kerberos (SASL) is not supported here: run
 * {@code HiveMetaStore} itself for that.
 */
public final class BoundMetaStore {
  /** Address to listen on; the same property name as Hive 3+'s metastore. */
  public static final String BIND_HOST = "hive.metastore.thrift.bind.host";

  private BoundMetaStore() {}

  /** {@code HiveMetaStore.main} with the server socket bound to {@link #BIND_HOST}. */
  public static void main(String[] args) throws Throwable {
    HiveConf.setLoadMetastoreConfig(true);
    HiveConf conf = new HiveConf(HMSHandler.class);
    HiveMetastoreCli cli = new HiveMetastoreCli(conf);
    cli.parse(args);
    boolean verbose = cli.isVerbose();
    Properties hiveconf = cli.addHiveconfToSystemProperties();
    if (System.getProperty("log4j.configurationFile") == null) {
      try {
        LogUtils.initHiveLog4j();
      } catch (LogUtils.LogInitializationException e) {
        HMSHandler.LOG.warn(e.getMessage());
      }
    }
    HiveStringUtils.startupShutdownMessage(HiveMetaStore.class, args, HiveMetaStore.LOG);
    try {
      for (Map.Entry<Object, Object> item : hiveconf.entrySet()) {
        conf.set((String) item.getKey(), (String) item.getValue());
      }
      String host = conf.getTrimmed(BIND_HOST, "");
      if (host.isEmpty()) {
        throw new IllegalArgumentException(BIND_HOST + " is not set: pass --hiveconf " + BIND_HOST
            + "=127.0.0.1 (or the address to serve on)");
      }
      String message = "Starting hive metastore on " + host + ":" + cli.getPort();
      HMSHandler.LOG.info(message);
      if (verbose) {
        System.err.println(message);
      }
      ShutdownHookManager.addShutdownHook(() -> shutdown(conf, verbose));
      if (conf.getBoolVar(ConfVars.METASTORE_METRICS)) {
        try {
          MetricsFactory.init(conf);
        } catch (Exception e) {
          HiveMetaStore.LOG.error("error in Metrics init: " + e.getClass().getName() + " "
              + e.getMessage(), e);
        }
      }
      Lock startLock = new ReentrantLock();
      Condition startCondition = startLock.newCondition();
      AtomicBoolean startedServing = new AtomicBoolean();
      callHive("startMetaStoreThreads",
          new Class<?>[] {HiveConf.class, Lock.class, Condition.class, AtomicBoolean.class},
          conf, startLock, startCondition, startedServing);
      serve(host, cli.getPort(), conf, startLock, startCondition, startedServing);
    } catch (Throwable t) {
      HMSHandler.LOG.error("Metastore Thrift Server threw an exception...", t);
      throw t;
    }
  }

  /** {@code HiveMetaStore.startMetaStore} (without SASL) on {@code host:port}. */
  static void serve(String host, int port, HiveConf conf, Lock startLock,
      Condition startCondition, AtomicBoolean startedServing) throws Throwable {
    try {
      setHiveField("isMetaStoreRemote", true);
      long maxMessageSize = conf.getLongVar(ConfVars.METASTORESERVERMAXMESSAGESIZE);
      int minWorkerThreads = conf.getIntVar(ConfVars.METASTORESERVERMINTHREADS);
      int maxWorkerThreads = conf.getIntVar(ConfVars.METASTORESERVERMAXTHREADS);
      boolean tcpKeepAlive = conf.getBoolVar(ConfVars.METASTORE_TCP_KEEP_ALIVE);
      boolean useFramedTransport = conf.getBoolVar(ConfVars.METASTORE_USE_THRIFT_FRAMED_TRANSPORT);
      boolean useCompactProtocol = conf.getBoolVar(ConfVars.METASTORE_USE_THRIFT_COMPACT_PROTOCOL);
      boolean useSSL = conf.getBoolVar(ConfVars.HIVE_METASTORE_USE_SSL);
      if (conf.getBoolVar(ConfVars.METASTORE_USE_THRIFT_SASL)) {
        throw new IllegalArgumentException(ConfVars.METASTORE_USE_THRIFT_SASL.varname
            + " (Kerberos) is not supported by this launcher: run HiveMetaStore for that");
      }
      setHiveField("useSasl", false);

      TProtocolFactory protocolFactory;
      TProtocolFactory inputProtoFactory;
      if (useCompactProtocol) {
        protocolFactory = new TCompactProtocol.Factory();
        inputProtoFactory = new TCompactProtocol.Factory(maxMessageSize, maxMessageSize);
      } else {
        protocolFactory = new TBinaryProtocol.Factory();
        inputProtoFactory = new TBinaryProtocol.Factory(true, true, maxMessageSize, maxMessageSize);
      }
      HMSHandler baseHandler = new HMSHandler("new db based metaserver", conf, false);
      IHMSHandler handler = HiveMetaStore.newRetryingHMSHandler(baseHandler, conf);

      TTransportFactory transFactory;
      TProcessor processor;
      if (conf.getBoolVar(ConfVars.METASTORE_EXECUTE_SET_UGI)) {
        transFactory = useFramedTransport
            ? chained(new TFramedTransport.Factory(), new TUGIContainingTransport.Factory())
            : new TUGIContainingTransport.Factory();
        processor = new TUGIBasedProcessor<IHMSHandler>(handler);
        HiveMetaStore.LOG.info("Starting DB backed MetaStore Server with SetUGI enabled");
      } else {
        transFactory = useFramedTransport ? new TFramedTransport.Factory() : new TTransportFactory();
        processor = new TSetIpAddressProcessor<IHMSHandler>(handler);
        HiveMetaStore.LOG.info("Starting DB backed MetaStore Server");
      }

      TServerSocket serverSocket;
      if (!useSSL) {
        serverSocket = HiveAuthUtils.getServerSocket(host, port);
      } else {
        List<String> sslVersionBlacklist = new ArrayList<>();
        for (String sslVersion : conf.getVar(ConfVars.HIVE_SSL_PROTOCOL_BLACKLIST).split(",")) {
          sslVersionBlacklist.add(sslVersion);
        }
        String keyStorePath = conf.getVar(ConfVars.HIVE_METASTORE_SSL_KEYSTORE_PATH).trim();
        if (keyStorePath.isEmpty()) {
          throw new IllegalArgumentException(ConfVars.HIVE_METASTORE_SSL_KEYSTORE_PASSWORD.varname
              + " Not configured for SSL connection");
        }
        String keyStorePassword = ShimLoader.getHadoopShims().getPassword(conf,
            ConfVars.HIVE_METASTORE_SSL_KEYSTORE_PASSWORD.varname);
        serverSocket = HiveAuthUtils.getServerSSLSocket(host, port, keyStorePath,
            keyStorePassword, sslVersionBlacklist);
      }
      if (tcpKeepAlive) {
        serverSocket = new TServerSocketKeepAlive(serverSocket);
      }

      TThreadPoolServer.Args args = new TThreadPoolServer.Args(serverSocket)
          .processor(processor)
          .transportFactory(transFactory)
          .protocolFactory(protocolFactory)
          .inputProtocolFactory(inputProtoFactory)
          .minWorkerThreads(minWorkerThreads)
          .maxWorkerThreads(maxWorkerThreads);
      TServer tServer = new TThreadPoolServer(args);
      tServer.setServerEventHandler(new RawStoreCleanup());

      HMSHandler.LOG.info("Started the new metaserver on " + host + " port [" + port + "]...");
      HMSHandler.LOG.info("Options.minWorkerThreads = " + minWorkerThreads);
      HMSHandler.LOG.info("Options.maxWorkerThreads = " + maxWorkerThreads);
      HMSHandler.LOG.info("TCP keepalive = " + tcpKeepAlive);

      callHive("signalOtherThreadsToStart",
          new Class<?>[] {TServer.class, Lock.class, Condition.class, AtomicBoolean.class},
          tServer, startLock, startCondition, startedServing);
      tServer.serve();
    } catch (Throwable x) {
      x.printStackTrace();
      HMSHandler.LOG.error(StringUtils.stringifyException(x));
      throw x;
    }
  }

  /** What Hive's own shutdown hook does: log, and close the metrics system. */
  private static void shutdown(HiveConf conf, boolean verbose) {
    String message = "Shutting down hive metastore.";
    HMSHandler.LOG.info(message);
    if (verbose) {
      System.err.println(message);
    }
    if (conf.getBoolVar(ConfVars.METASTORE_METRICS)) {
      try {
        MetricsFactory.close();
      } catch (Exception e) {
        HiveMetaStore.LOG.error("error in Metrics deinit: " + e.getClass().getName() + " "
            + e.getMessage(), e);
      }
    }
  }

  /** Hive's per-connection hook: drop the connection thread's RawStore when a client leaves. */
  private static final class RawStoreCleanup implements TServerEventHandler {
    @Override
    public void preServe() {}

    @Override
    public ServerContext createContext(TProtocol input, TProtocol output) {
      return null;
    }

    @Override
    public void deleteContext(ServerContext context, TProtocol input, TProtocol output) {
      try {
        callHive("cleanupRawStore", new Class<?>[0]);
      } catch (Throwable e) {
        HMSHandler.LOG.warn("cleaning up the thread's RawStore failed", e);
      }
    }

    @Override
    public void processContext(ServerContext context, TTransport in, TTransport out) {}
  }

  /** Hive's {@code HiveMetaStore.ChainedTTransportFactory} (a private class). */
  private static TTransportFactory chained(TTransportFactory parent, TTransportFactory child)
      throws ReflectiveOperationException {
    Class<?> type = Class.forName(HiveMetaStore.class.getName() + "$ChainedTTransportFactory");
    var constructor = type.getDeclaredConstructor(TTransportFactory.class, TTransportFactory.class);
    constructor.setAccessible(true);
    return (TTransportFactory) constructor.newInstance(parent, child);
  }

  /** Calls one of HiveMetaStore's private static methods (Hive's code, not a copy). */
  private static void callHive(String name, Class<?>[] types, Object... values) throws Throwable {
    Method method = HiveMetaStore.class.getDeclaredMethod(name, types);
    method.setAccessible(true);
    try {
      method.invoke(null, values);
    } catch (InvocationTargetException e) {
      throw e.getCause();
    }
  }

  private static void setHiveField(String name, boolean value) throws ReflectiveOperationException {
    Field field = HiveMetaStore.class.getDeclaredField(name);
    field.setAccessible(true);
    field.setBoolean(null, value);
  }
}
