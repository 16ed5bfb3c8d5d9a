#!/bin/sh
# Rendered by dataplat.compose_render from the platform settings: re-render, do not edit.
set -eu
hdfs dfs -mkdir -p /tmp /user /user/dataplat /lake /lake/warehouse
hdfs dfs -chmod 1777 /tmp
hdfs dfs -chmod 755 /user
hdfs dfs -chmod 755 /user/dataplat
hdfs dfs -chmod 775 /lake
hdfs dfs -chmod 775 /lake/warehouse
