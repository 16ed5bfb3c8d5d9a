# Rendered by dataplat (dataplat.spark_conf); sourced by spark-submit from SPARK_CONF_DIR.
# Java 17 for Spark; the driver's UI and RPC listen on the platform's bind host only.
export JAVA_HOME="${JAVA_HOME:-{{ ctx.java17 }}}"
export SPARK_LOCAL_IP="{{ s.bind_host }}"
