#!/usr/bin/env bash
# Apache Spark for Larder's scale-out offline engine, reached over Spark
# Connect (gRPC): no JVM runs in Larder's process. See docs/spark.md.
#
#   scripts/spark.sh protos         extract Spark Connect's .proto files from the
#                                   Maven Central jar org.apache.spark:spark-connect_2.13
#                                   into third_party/spark_connect_proto/ (the build
#                                   compiles them: cmake/spark_connect_proto.cmake);
#                                   scripts/bootstrap.sh runs it
#   scripts/spark.sh install        a venv third_party/spark_venv with pyspark[connect]
#                                   (it bundles the Spark Connect server) for the
#                                   Spark* tests and `server`; scripts/test.sh runs it
#   scripts/spark.sh server [PORT]  run a local Spark Connect server in the foreground
#                                   on 127.0.0.1:PORT (default 15002) until Ctrl-C
#
# `protos` and `install` are idempotent: a second run checks their stamps and
# returns in about a second. The server runs Spark in local mode (local[2]),
# with a driver heap of SPARK_DRIVER_MEMORY (default 2g: with 1g, model_v4's
# training data at scale 1 lost task results from the block manager), and
# with a Hive catalog whose warehouse and Derby metastore live in
# SPARK_DATA_DIR when it is set (kept), else in a temporary directory deleted
# when the server stops.
#
# Needs Java 17 or newer (Debian's Java 17, else JAVA_HOME/bin/java, else java
# on the PATH) and, for
# `protos`, Maven: scripts/bootstrap.sh installs both from Debian.
# SPARK_VENV_PYTHON picks the interpreter that creates the venv (default:
# python3 on the PATH, 3.10 or newer).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# The server, from PyPI. The protos come from Maven Central, whose newest
# spark-connect_2.13 may be older than the server: Spark Connect's protocol is
# proto3 and the server accepts older clients.
PYSPARK_VERSION="4.3.0"
PROTO_VERSION="4.2.0"
DEPENDENCY_PLUGIN_VERSION="3.8.1"
proto_dir="$root/third_party/spark_connect_proto"
venv="$root/third_party/spark_venv"

log() { printf '[spark] %s\n' "$*"; }
die() {
  local code="$1"
  shift
  echo "scripts/spark.sh: $*" >&2
  exit "$code"
}

scratch=()
cleanup() {
  if ((${#scratch[@]})); then rm -rf "${scratch[@]}"; fi
}
trap cleanup EXIT

# Debian's Java 17 first: Spark 4 supports Java 17 and 21, and the machine's
# default JVM may be newer.
java_binary() {
  if [ -x /usr/lib/jvm/java-17-openjdk-amd64/bin/java ]; then
    echo /usr/lib/jvm/java-17-openjdk-amd64/bin/java
  elif [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then
    echo "$JAVA_HOME/bin/java"
  elif command -v java >/dev/null; then
    command -v java
  else
    die 1 "java is not installed (Java 17 or newer;" \
      "scripts/bootstrap.sh installs openjdk-17-jre-headless)"
  fi
}

# Resolves the jar with Maven into a scratch directory beside
# third_party/spark_connect_proto, extracts spark/connect/*.proto, then swaps
# the directory in: an interrupted run leaves the old set (or none), never a
# partial one. The stamp is written last.
protos() {
  local stamp="$proto_dir/.version" want="spark-connect_2.13 $PROTO_VERSION"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] \
     && [ -f "$proto_dir/spark/connect/base.proto" ]; then
    log "Spark Connect protos $PROTO_VERSION present"
    return 0
  fi
  command -v mvn >/dev/null \
    || die 1 "maven is not installed; it resolves the Spark Connect jar from Maven Central:" \
      "run scripts/bootstrap.sh"
  command -v unzip >/dev/null || command -v python3 >/dev/null \
    || die 1 "unzip or python3 is needed to extract the protos"
  mkdir -p "$root/third_party"
  exec 9>"$root/third_party/.spark-protos.lock"
  flock 9
  log "extracting the Spark Connect protos from spark-connect_2.13 $PROTO_VERSION (Maven Central)"
  local dir
  dir="$(mktemp -d "$root/third_party/.spark-protos.XXXXXX")"
  scratch+=("$dir")
  if ! mvn -q -B "org.apache.maven.plugins:maven-dependency-plugin:$DEPENDENCY_PLUGIN_VERSION:copy" \
       "-Dartifact=org.apache.spark:spark-connect_2.13:$PROTO_VERSION" \
       -Dmdep.stripVersion=false -DoutputDirectory="$dir/jar" > "$dir/mvn.log" 2>&1; then
    cat "$dir/mvn.log" >&2
    die 1 "maven could not resolve org.apache.spark:spark-connect_2.13:$PROTO_VERSION" \
      "(output above); Maven Central must be reachable"
  fi
  local jar="$dir/jar/spark-connect_2.13-$PROTO_VERSION.jar"
  [ -f "$jar" ] || die 1 "maven wrote no $jar"
  mkdir -p "$dir/out"
  if command -v unzip >/dev/null; then
    unzip -q -o "$jar" 'spark/connect/*.proto' -d "$dir/out"
  else
    python3 - "$jar" "$dir/out" <<'EOF'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    z.extractall(sys.argv[2], [n for n in z.namelist()
                               if n.startswith("spark/connect/") and n.endswith(".proto")])
EOF
  fi
  [ -f "$dir/out/spark/connect/base.proto" ] \
    || die 1 "the jar $jar holds no spark/connect/base.proto"
  echo "$want" > "$dir/out/.version"
  if [ -e "$proto_dir" ]; then
    mv "$proto_dir" "$dir/old"
  fi
  mv "$dir/out" "$proto_dir"
  log "$(find "$proto_dir" -name '*.proto' | wc -l) protos in third_party/spark_connect_proto"
}

install() {
  java_binary > /dev/null  # exits, saying how to install it, when there is none
  source "$root/scripts/python_venv.sh"
  ensure_python_venv spark_venv "${SPARK_VENV_PYTHON:-python3}" \
    "import sys, pyspark; sys.exit(0 if pyspark.__version__ == '$PYSPARK_VERSION' else 1)" \
    "pyspark[connect]==$PYSPARK_VERSION"
}

# The pyspark package directory: SPARK_HOME for its scripts and jars.
spark_home() {
  local dir
  dir="$(echo "$venv"/lib/python3*/site-packages/pyspark)"
  [ -x "$venv/bin/python" ] && [ -f "$dir/jars/spark-connect_2.13-$PYSPARK_VERSION.jar" ] \
    || die 1 "pyspark $PYSPARK_VERSION is not installed in $venv: run scripts/spark.sh install"
  echo "$dir"
}

server() {
  local port="${1:-15002}"
  if ! [[ "$port" =~ ^[0-9]+$ ]] || [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
    die 2 "the port must be 1..65535, got '$port'"
  fi
  if { exec 3<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null; then
    exec 3<&-
    die 1 "port $port on 127.0.0.1 is taken; stop what listens there, or give another port"
  fi
  local home java data
  home="$(spark_home)"
  java="$(java_binary)"
  if [ -n "${SPARK_DATA_DIR:-}" ]; then
    data="$SPARK_DATA_DIR"
    mkdir -p "$data"
  else
    data="$(mktemp -d "${TMPDIR:-/tmp}/larder-spark.XXXXXX")"
    scratch+=("$data")
  fi
  data="$(cd "$data" && pwd)"
  # Spark's own logging at WARN, to stderr, but for the line saying where it
  # listens.
  mkdir -p "$data/conf"
  cat > "$data/conf/log4j2.properties" <<EOF
appender.console.type=Console
appender.console.name=console
appender.console.target=SYSTEM_ERR
appender.console.layout.type=PatternLayout
appender.console.layout.pattern=%d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n
rootLogger.level=warn
rootLogger.appenderRef.console.ref=console
logger.connect.name=org.apache.spark.sql.connect.service.SparkConnectServer
logger.connect.level=info
EOF
  log "Spark $PYSPARK_VERSION Connect server on 127.0.0.1:$port (sc://127.0.0.1:$port)," \
    "warehouse and metastore in $data; ready in about 10 s; Ctrl-C stops it"
  # spark-submit in the foreground (start-connect-server.sh would daemonize):
  # it execs the JVM, which stops cleanly on SIGINT or SIGTERM.
  cd "$data"
  SPARK_HOME="$home" SPARK_CONF_DIR="$data/conf" JAVA_HOME="$(dirname "$(dirname "$(readlink -f "$java")")")" \
    PYSPARK_PYTHON="$venv/bin/python" SPARK_LOCAL_IP=127.0.0.1 \
    "$home/bin/spark-submit" \
    --class org.apache.spark.sql.connect.service.SparkConnectServer \
    --name "Larder Spark Connect" \
    --master 'local[2]' \
    --conf spark.connect.grpc.binding.address=127.0.0.1 \
    --conf "spark.connect.grpc.binding.port=$port" \
    --conf spark.sql.catalogImplementation=hive \
    --conf "spark.sql.warehouse.dir=$data/warehouse" \
    --conf "spark.hadoop.javax.jdo.option.ConnectionURL=jdbc:derby:;databaseName=$data/metastore_db;create=true" \
    --driver-memory "${SPARK_DRIVER_MEMORY:-2g}" \
    --driver-java-options "-Dderby.system.home=$data" \
    --conf spark.ui.enabled=false \
    --conf spark.eventLog.enabled=false &
  local pid=$!
  trap 'kill -TERM "$pid" 2>/dev/null || true' INT TERM
  local status=0
  wait "$pid" || status=$?
  # A signal interrupts the first wait; wait again for the JVM to finish.
  while kill -0 "$pid" 2>/dev/null; do wait "$pid" || status=$?; done
  return "$status"
}

case "${1:-}" in
  protos)
    [ $# -eq 1 ] || die 2 "usage: scripts/spark.sh protos"
    protos ;;
  install)
    [ $# -eq 1 ] || die 2 "usage: scripts/spark.sh install"
    install ;;
  server)
    [ $# -le 2 ] || die 2 "usage: scripts/spark.sh server [PORT]"
    server "${2:-}" ;;
  *)
    die 2 "usage: scripts/spark.sh protos | install | server [PORT]" ;;
esac
