# Rendered by dataplat (dataplat.spark_conf); sourced by spark-submit from SPARK_CONF_DIR.
# Java 17 for Spark; the driver's UI and RPC listen on the platform's bind host only.
export JAVA_HOME="${JAVA_HOME:-/opt/java/openjdk}"
export SPARK_LOCAL_IP="0.0.0.0"
