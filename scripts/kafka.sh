#!/usr/bin/env bash
# Apache Kafka (a real broker, KRaft mode, one node) on 127.0.0.1, from the
# Maven Central jars in third_party/kafka/lib, for the tests
# (tests/support/kafka_server.h starts its own brokers from the same jars)
# and the demo's stream (docs/stream.md).
#
#   scripts/kafka.sh install        install the jars and a class archive of them
#                                   (scripts/bootstrap.sh runs it); a second run
#                                   checks stamps and returns at once
#   scripts/kafka.sh [PORT]         run a broker in the foreground (default port 9092)
#   scripts/kafka.sh --probe [PORT] print what listens there: `kafka` (a Kafka broker,
#                                   e.g. one already running), `free` or `other`
#
# The broker listens on 127.0.0.1:PORT only; its controller listens on another
# free loopback port. Its data lives in a temporary directory deleted when it
# stops, and topics are not created on first use (auto.create.topics.enable
# is false): create them with an admin client. Run in the foreground it
# refuses (exit 1) a port that something else holds, and exits 3 when a Kafka
# broker already answers there. It logs warnings and errors to stderr, and one
# line when it is ready.
#
# Needs Java 17 or newer (JAVA_HOME/bin/java, else java on the PATH) and, to
# install, Maven: scripts/bootstrap.sh installs both from Debian.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

KAFKA_VERSION="4.4.0"
LOG4J_VERSION="2.25.5"
DEPENDENCY_PLUGIN_VERSION="3.8.1"
kafka_dir="$root/third_party/kafka"
# The stamp names everything the jar set depends on: change any of it and
# `install` resolves again.
stamp_text="kafka_2.13 $KAFKA_VERSION, kafka-tools $KAFKA_VERSION, log4j-slf4j-impl $LOG4J_VERSION"
# The class data sharing archive (see ensure_class_archive) and the stamp
# naming the JVM that made it.
archive="$kafka_dir/kafka.jsa"
archive_stamp="$kafka_dir/.kafka.jsa-java"

die() {
  local code="$1"
  shift
  echo "scripts/kafka.sh: $*" >&2
  exit "$code"
}

# What to remove, and the broker to stop, on exit.
scratch=()
pid=""
cleanup() {
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  if ((${#scratch[@]})); then rm -rf "${scratch[@]}"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

java_binary() {
  if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then
    echo "$JAVA_HOME/bin/java"
  elif command -v java >/dev/null; then
    command -v java
  else
    die 1 "java is not installed (Java 17 or newer;" \
      "scripts/bootstrap.sh installs openjdk-17-jre-headless)"
  fi
}

# The JVM at hand, as the archive's stamp names it: the real path of its
# binary and that file's time (a package upgrade changes it).
java_identity() {
  local real
  real="$(readlink -f "$(java_binary)")"
  echo "$real $(stat -c %Y "$real")"
}

jars_installed() {
  [ -f "$kafka_dir/.version" ] && [ "$(cat "$kafka_dir/.version")" = "$stamp_text" ] \
    && [ -d "$kafka_dir/lib" ]
}

archive_made() {
  [ -f "$archive" ] && [ "$(cat "$archive_stamp" 2>/dev/null)" = "$(java_identity)" ]
}

# What answers on 127.0.0.1:$1: `kafka` when an ApiVersions request (v0,
# client id null) gets a reply that carries its correlation id back, `free`
# when the connection is refused, `other` otherwise.
what_listens() {
  local port="$1" reply
  if ! { exec 3<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null; then
    echo free
    return
  fi
  # size 10 | api key 18 (ApiVersions) | version 0 | correlation id "Lard" | client id -1
  printf '\x00\x00\x00\x0a\x00\x12\x00\x00Lard\xff\xff' >&3 2>/dev/null || true
  reply="$(timeout 3 head -c 8 <&3 2>/dev/null | od -An -tx1 | tr -d ' \n' || true)"
  exec 3<&-
  if [ "${reply:8:8}" = "4c617264" ]; then echo kafka; else echo other; fi
}

# A loopback port below the kernel's ephemeral range that nothing accepts on.
free_port() {
  local port _
  for _ in $(seq 1 50); do
    port=$((20000 + RANDOM % 12000))
    if ! { exec 4<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null; then
      echo "$port"
      return
    fi
    exec 4<&-
  done
  die 1 "found no free loopback port"
}

# prepare_broker DIR PORT: configures a broker on 127.0.0.1:PORT, with its
# controller on a free port and its data in DIR, and formats its storage.
# Sets $controller_port, and $java_command for start_broker.
prepare_broker() {
  local dir="$1" port="$2" cluster_id
  controller_port="$(free_port)"
  cat > "$dir/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller_port
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$dir/logs
num.partitions=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
min.insync.replicas=1
group.initial.rebalance.delay.ms=0
EOF
  cat > "$dir/log4j2.properties" <<EOF
appender.stderr.type=Console
appender.stderr.name=STDERR
appender.stderr.target=SYSTEM_ERR
appender.stderr.layout.type=PatternLayout
appender.stderr.layout.pattern=[%d] %p %m (%c)%n
rootLogger.level=WARN
rootLogger.appenderRef.stderr.ref=STDERR
EOF
  # The serial collector and C1 alone start it faster; a demo's or a
  # test's load needs no more.
  java_command=("$(java_binary)" -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1
    -XX:-UsePerfData -Djava.awt.headless=true "-Dlog4j2.configurationFile=$dir/log4j2.properties")
  if [ -f "$archive" ]; then
    java_command+=("-XX:SharedArchiveFile=$archive")
  fi
  java_command+=(-cp "$kafka_dir/lib/*")
  # A cluster id is 16 random bytes in unpadded base64url, not starting
  # with '-' (which would pass for an option).
  cluster_id="-"
  while [ "${cluster_id:0:1}" = "-" ]; do
    cluster_id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
  done
  if ! "${java_command[@]}" kafka.tools.StorageTool format -t "$cluster_id" \
       -c "$dir/server.properties" > "$dir/format.log" 2>&1; then
    cat "$dir/format.log" >&2
    die 1 "formatting the broker's storage failed (output above)"
  fi
}

# start_broker DIR [JVM OPTION...]: starts the broker that prepare_broker
# configured in DIR in the background, and sets $pid.
start_broker() {
  local dir="$1"
  shift
  "${java_command[0]}" "$@" "${java_command[@]:1}" kafka.Kafka "$dir/server.properties" &
  pid=$!
}

# True once a broker answers on 127.0.0.1:$1; false when $pid exits first,
# or after a minute.
wait_until_ready() {
  local _
  for _ in $(seq 1 600); do
    kill -0 "$pid" 2>/dev/null || return 1
    [ "$(what_listens "$1")" = kafka ] && return 0
    sleep 0.1
  done
  return 1
}

# Resolves the jars with Maven into a scratch directory beside
# third_party/kafka, then swaps it in: an interrupted install leaves the old
# set (or none), never a partial one. The stamp is written last.
install_jars() {
  command -v mvn >/dev/null \
    || die 1 "maven is not installed; it resolves the Kafka jars from Maven Central:" \
      "run scripts/bootstrap.sh"
  echo "[kafka] installing kafka $KAFKA_VERSION from Maven Central"
  local dir
  dir="$(mktemp -d "$root/third_party/.kafka-install.XXXXXX")"
  scratch+=("$dir")
  cat > "$dir/pom.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>larder</groupId>
  <artifactId>kafka-broker-jars</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>$KAFKA_VERSION</version>
    </dependency>
    <!-- The topic and consumer group commands (kafka.tools.*). -->
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka-tools</artifactId>
      <version>$KAFKA_VERSION</version>
    </dependency>
    <!-- The SLF4J binding: without it the broker logs nothing at all. -->
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>$LOG4J_VERSION</version>
    </dependency>
  </dependencies>
  <build>
    <plugins>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-dependency-plugin</artifactId>
        <version>$DEPENDENCY_PLUGIN_VERSION</version>
      </plugin>
    </plugins>
  </build>
</project>
EOF
  mkdir -p "$dir/kafka"
  if ! mvn -q -B -f "$dir/pom.xml" dependency:copy-dependencies \
       -DincludeScope=runtime -DoutputDirectory="$dir/kafka/lib" > "$dir/mvn.log" 2>&1; then
    cat "$dir/mvn.log" >&2
    die 1 "maven could not resolve the Kafka jars (output above); Maven Central must be reachable"
  fi
  echo "$stamp_text" > "$dir/kafka/.version"
  if [ -e "$kafka_dir" ]; then
    mv "$kafka_dir" "$dir/old"
  fi
  mv "$dir/kafka" "$kafka_dir"
  local jars
  jars="$(find "$kafka_dir/lib" -name '*.jar' | wc -l)"
  echo "[kafka] installed $jars jars in third_party/kafka/lib"
}

# The class data sharing archive of the classes a broker loads to start,
# which tests/support/kafka_server.cc uses too: with it a broker starts in
# about 1.4 s instead of 2.5 s, in 60 MB less memory. It is made by
# starting a broker once and stopping it, for the JVM at hand and the jars
# at their place; another JVM ignores it (with a warning) and runs as fast
# as without it.
ensure_class_archive() {
  archive_made && return 0
  echo "[kafka] making the class archive third_party/kafka/kafka.jsa (a broker starts and stops)"
  local dir port
  dir="$(mktemp -d "${TMPDIR:-/tmp}/larder-kafka-archive.XXXXXX")"
  scratch+=("$dir" "$archive.tmp")
  port="$(free_port)"
  rm -f "$archive" "$archive_stamp"  # the broker that makes it must not use an old one
  prepare_broker "$dir" "$port"
  start_broker "$dir" "-XX:ArchiveClassesAtExit=$archive.tmp" > "$dir/broker.log" 2>&1
  wait_until_ready "$port" || die 1 "the broker did not start; its output: $(cat "$dir/broker.log")"
  kill "$pid"
  wait "$pid" || true
  pid=""
  [ -f "$archive.tmp" ] \
    || die 1 "the broker wrote no class archive; its output: $(cat "$dir/broker.log")"
  mv "$archive.tmp" "$archive"
  java_identity > "$archive_stamp"
}

install() {
  java_binary > /dev/null  # exits, saying how to install it, when there is none
  mkdir -p "$root/third_party"
  if jars_installed && archive_made; then
    echo "[kafka] kafka $KAFKA_VERSION present"
    return 0
  fi
  # One install at a time: a second one waits, then finds the work done.
  exec 9>"$root/third_party/.kafka-install.lock"
  flock 9
  jars_installed || install_jars
  ensure_class_archive
  echo "[kafka] kafka $KAFKA_VERSION present"
}

case "${1:-}" in
  install)
    [ $# -eq 1 ] || die 2 "usage: scripts/kafka.sh install"
    install
    exit 0 ;;
  --probe)
    probe=1
    shift ;;
  *)
    probe=0 ;;
esac
port="${1:-9092}"
if ! [[ "$port" =~ ^[0-9]+$ ]] || [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
  die 2 "the port must be 1..65535, got '$port'"
fi
state="$(what_listens "$port")"
if [ "$probe" = 1 ]; then
  echo "$state"
  exit 0
fi
case "$state" in
  kafka) die 3 "a Kafka broker already answers on 127.0.0.1:$port" ;;
  other) die 1 "port $port on 127.0.0.1 is taken by something that is not a Kafka broker;" \
    "stop it, or give another port" ;;
esac
jars_installed \
  || die 1 "the Kafka jars are not installed in $kafka_dir/lib: run scripts/bootstrap.sh"
java_binary > /dev/null

data="$(mktemp -d "${TMPDIR:-/tmp}/larder-kafka.XXXXXX")"
scratch+=("$data")
prepare_broker "$data" "$port"
start_broker "$data"
if wait_until_ready "$port"; then
  echo "scripts/kafka.sh: Kafka $KAFKA_VERSION ready on 127.0.0.1:$port" \
    "(controller on 127.0.0.1:$controller_port, data in $data); Ctrl-C stops it" >&2
fi
status=0
wait "$pid" || status=$?
pid=""
exit "$status"
