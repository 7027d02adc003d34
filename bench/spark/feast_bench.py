"""Training data on Spark: Larder's spark store against Feast 0.67's Spark
offline store, on the same Spark, with Larder's DuckDB store beside them.

bench/spark/run.sh --feast sets up the venv and the build, then runs this
with the venv's Python. See docs/BENCHMARKS.md ("Spark: Larder against
Feast 0.67's Spark store") for what each figure means.

Work directory (default /tmp/larder_spark_feast_bench; the prepared data is
kept and reused by a later run at the same scale and end):
  build/          the example at --scale: `larder demo-data`, `larder run` (the
                  SQL models, on DuckDB), the models' tables exported to
                  build/data/models/ as parquet
  entities.parquet every rating as an entity row: row_id, user_id, isbn,
                  event_timestamp (its rating time)
  larder_duckdb/  a Larder repo of the views compared (VIEWS), every source a
                  parquet file source on build/data/, DuckDB offline store
  larder_spark/   the same with the spark offline store on the run's server
  feast_spark/    examples/book_recs/feast/book_recs.py with every FileSource a
                  SparkSource over the same parquet, Spark offline store
  out/            each system's training data; results.json, results.md

Each system's runs get a Spark Connect server of their own
(scripts/spark.sh server on a free loopback port), started before its first
run and stopped after its last, so that the JVM's peak RSS is that system's
and both start from a cold JVM.
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "bench", "feast"))
import measure  # noqa: E402  (bench/feast/measure.py: wall time, peak RSS, limits)

FEAST_DEFINITIONS = os.path.join(ROOT, "examples", "book_recs", "feast", "book_recs.py")
END = "2023-01-01T00:00:00Z"
# model_v4's views that Feast computes: its three window aggregation views
# (book_agg_rating_features, user_agg_rating_features, agg_user_features_1d)
# are left out, as in bench/feast (Feast 0.67 declares them but cannot
# compute them in training data), and so is nothing else.
VIEWS = {
    # view: (source name, parquet under build/data, timestamp column)
    "book_features": ("books_source", "raw/books", "created_at"),
    "user_features": ("users_source", "raw/users", "signup_date"),
    "avg_book_category_rating_features": ("avg_book_category_ratings_source",
                                          "models/avg_book_category_ratings",
                                          "rating_timestamp"),
}
# Both models' tables: `feast apply` reads every SparkSource of the Feast twin,
# bucketed_age_source (user_age_features, not in model_v4) included.
MODELS = ["avg_book_category_ratings", "bucketed_age"]
SERVICE = "bench_v4_shared"
FEATURES = ["language", "category", "country", "avg_yr_category_rating",
            "count_yr_category_rating"]
SYSTEMS = ["larder_duckdb", "larder_spark", "feast_spark"]
LABELS = {"larder_duckdb": "Larder, DuckDB store (no Spark)",
          "larder_spark": "Larder, spark store (Spark Connect)",
          "feast_spark": "Feast 0.67, Spark offline store"}
EXCLUDED = ("model_v4's aggregation views (book_agg_rating_features, user_agg_rating_features, "
            "agg_user_features_1d) are excluded, as in bench/feast: Feast 0.67 cannot compute "
            "them in training data; compared: " + ", ".join(VIEWS) + " (" +
            ", ".join(FEATURES) + "), the last over the SQL model avg_book_category_ratings, "
            "built by `larder run` on DuckDB and read by all three as the same parquet file")


def log(msg):
    print("[bench-spark-feast %s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def port_open(port):
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


class SparkServer:
    """scripts/spark.sh server on a free loopback port; its process tree's RSS
    (the JVM) is sampled until stop()."""

    def __init__(self, log_path):
        self.port = free_port()
        self.remote = "sc://127.0.0.1:%d" % self.port
        self.server = measure.Server([os.path.join(ROOT, "scripts", "spark.sh"), "server",
                                      str(self.port)], log_path)
        started = time.monotonic()
        self.server.wait_ready(lambda: port_open(self.port), timeout=300)
        log("Spark Connect server on %s ready in %.0f s" % (self.remote,
                                                            time.monotonic() - started))

    def stop(self):
        return self.server.stop()


class Bench:
    def __init__(self, args):
        self.args = args
        self.work = os.path.abspath(args.work)
        self.larder = os.path.abspath(args.larder)
        self.python = sys.executable
        self.feast = os.path.join(os.path.dirname(sys.executable), "feast")
        self.results = {}   # system -> {"runs": [Outcome], "server_peak": bytes or None}
        self.checks = []    # (name, passed, detail)
        self.notes = [EXCLUDED]

    def path(self, *parts):
        return os.path.join(self.work, *parts)

    def env(self, remote=None):
        env = dict(os.environ, LARDER_REPO=self.path("build"), PYTHONUNBUFFERED="1")
        env.pop("SPARK_REMOTE", None)
        if remote:
            env["SPARK_REMOTE"] = remote
        # For a classic session: the JVM that scripts/spark.sh prefers.
        java17 = "/usr/lib/jvm/java-17-openjdk-amd64"
        if os.path.isdir(java17):
            env["JAVA_HOME"] = java17
        env["SPARK_LOCAL_IP"] = "127.0.0.1"
        return env

    def must(self, cmd, env=None, timeout=7200):
        out = measure.run(cmd, env=env or self.env(), timeout=timeout,
                          mem_limit=self.args.mem_limit_gib * 2**30)
        if not out.ok:
            raise RuntimeError("%s: %s\n%s" % (" ".join(cmd), out.describe(), out.stderr[-3000:]))
        return out

    # --- preparation ------------------------------------------------------
    def prepare(self):
        stamp = {"scale": self.args.scale, "end": END, "version": 2}
        stamp_path = self.path("prepared.json")
        if os.path.exists(stamp_path):
            with open(stamp_path) as f:
                if json.load(f) == stamp:
                    log("reusing the example data in %s (scale %g)" % (self.work, self.args.scale))
                    return
        if os.path.exists(self.work):
            shutil.rmtree(self.work)
        os.makedirs(self.work)
        log("generating the example at scale %g (end %s) and building its SQL models"
            % (self.args.scale, END))
        build = self.path("build")
        self.must([self.larder, "init", build, "--template", "book_recs"])
        self.must([self.larder, "-c", build, "demo-data", "--scale", str(self.args.scale),
                   "--end", END])
        self.must([self.larder, "-c", build, "apply"])
        self.must([self.larder, "-c", build, "run"])
        import duckdb
        os.makedirs(self.path("build", "data", "models"))
        con = duckdb.connect(self.path("build", "data", "offline_store.duckdb"), read_only=True)
        for model in MODELS:
            con.execute("COPY %s TO '%s' (FORMAT parquet)"
                        % (model, self.path("build", "data", "models", model + ".parquet")))
        con.close()
        con = duckdb.connect()
        con.execute("COPY (SELECT (row_number() OVER () - 1)::BIGINT AS row_id, user_id, isbn, "
                    "rating_timestamp AS event_timestamp FROM read_parquet('%s')) TO '%s' "
                    "(FORMAT parquet)" % (self.path("build", "data", "raw", "ratings.parquet"),
                                          self.path("entities.parquet")))
        con.close()
        write(stamp_path, json.dumps(stamp))

    def write_repos(self):
        """The repos but larder_spark's feature_store.yaml, which names the
        server that run_system starts."""
        for name in ["larder_duckdb", "larder_spark", "feast_spark", "out"]:
            shutil.rmtree(self.path(name), ignore_errors=True)
            os.makedirs(self.path(name, "data") if name != "out" else self.path(name))
        self.write_larder_repo("larder_duckdb", "offline_store:\n  type: duckdb\n"
                               "  path: data/offline_store.duckdb\n")
        self.write_feast_repo()

    def write_larder_repo(self, name, offline_store):
        """The example's entities and the compared views, each source the
        parquet file that Feast reads too."""
        import yaml
        repo = self.path(name)
        src = self.path("build")
        shutil.copy(os.path.join(src, "entities.yaml"), repo)
        with open(os.path.join(src, "feature_views.yaml")) as f:
            views = [v for v in yaml.safe_load(f)["feature_views"] if v["name"] in VIEWS]
        if sorted(v["name"] for v in views) != sorted(VIEWS):
            raise RuntimeError("the example's feature_views.yaml lacks some of " + ", ".join(VIEWS))
        sources = [{"name": source, "type": "file",
                    "path": self.path("build", "data", path + ".parquet"),
                    "timestamp_field": ts} for source, path, ts in VIEWS.values()]
        write(os.path.join(repo, "data_sources.yaml"),
              yaml.safe_dump({"data_sources": sources}, sort_keys=False))
        write(os.path.join(repo, "feature_views.yaml"),
              yaml.safe_dump({"feature_views": views}, sort_keys=False))
        write(os.path.join(repo, "feature_services.yaml"),
              yaml.safe_dump({"feature_services": [{"name": SERVICE, "features": list(VIEWS)}]},
                             sort_keys=False))
        write(os.path.join(repo, "feature_store.yaml"),
              "project: book_recs\nregistry: data/registry.db\nprovider: local\n"
              "online_store:\n  type: rocksdb\n  path: data/online_store\n" + offline_store +
              "entity_key_serialization_version: 3\n")

    def write_feast_repo(self):
        """examples/book_recs/feast/book_recs.py with FileSource rebound to a
        SparkSource over the same parquet path (Feast's Spark store reads
        SparkSources only), plus the service of the compared views."""
        with open(FEAST_DEFINITIONS) as f:
            text = f.read()
        anchor = "\nDATA = os.path.join("
        if text.count(anchor) != 1:
            raise RuntimeError("%s changed: no single '%s' to put the SparkSource shim before"
                               % (FEAST_DEFINITIONS, anchor.strip()))
        shim = ("\n# Added by bench/spark/feast_bench.py: Feast's Spark offline store reads\n"
                "# SparkSources only; each FileSource below is one over the same parquet.\n"
                "from feast.infra.offline_stores.contrib.spark_offline_store.spark_source "
                "import SparkSource  # noqa: E402\n\n\n"
                "def FileSource(name, path, timestamp_field):  # noqa: F811\n"
                "    return SparkSource(name=name, path=path, file_format=\"parquet\",\n"
                "                       timestamp_field=timestamp_field)\n\n")
        text = text.replace(anchor, shim + anchor)
        text += ("\n\n# Added by bench/spark/feast_bench.py: model_v4's views that Feast computes.\n"
                 "%s = FeatureService(name=%r, features=[%s])\n"
                 % (SERVICE, SERVICE, ", ".join(VIEWS)))
        repo = self.path("feast_spark")
        write(os.path.join(repo, os.path.basename(FEAST_DEFINITIONS)), text)
        conf = ""
        if self.args.feast_session == "local":
            # A classic session of the venv's pyspark, with the server's settings.
            conf = ("  spark_conf:\n    spark.master: \"local[2]\"\n"
                    "    spark.ui.enabled: \"false\"\n    spark.eventLog.enabled: \"false\"\n"
                    "    spark.sql.session.timeZone: \"UTC\"\n")
        write(os.path.join(repo, "feature_store.yaml"),
              "project: book_recs\nregistry: data/registry.db\nprovider: local\n"
              "online_store:\n  type: sqlite\n  path: data/online_store.db\n"
              "offline_store:\n  type: spark\n" + conf +
              "entity_key_serialization_version: 3\n")

    # --- runs -------------------------------------------------------------
    def command(self, system):
        entities = self.path("entities.parquet")
        out = self.path("out", system + ".parquet")
        if system == "feast_spark":
            return [self.python, os.path.join(HERE, "feast_ops.py"), self.path(system), entities,
                    SERVICE, out, self.args.feast_entities]
        return [self.larder, "-c", self.path(system), "historical", "--feature-service", SERVICE,
                "--entities", entities, "--output", out]

    def repeat(self, system, remote=None):
        runs, spent = [], 0.0
        cmd = self.command(system)
        for rep in range(self.args.reps):
            out = measure.run(cmd, env=self.env(remote), timeout=self.args.timeout,
                              mem_limit=self.args.mem_limit_gib * 2**30)
            runs.append(out)
            spent += out.seconds
            log("  %s rep %d: %s, peak RSS %d MiB" % (system, rep + 1, out.describe(),
                                                      out.peak_rss // 2**20))
            if not out.ok:
                log(out.stderr[-3000:])
                break
            if spent > self.args.budget:
                break
        return runs

    def run_system(self, system):
        log("%s: %s" % (system, LABELS[system]))
        server = None
        remote = None
        if system != "larder_duckdb" and not (system == "feast_spark"
                                              and self.args.feast_session == "local"):
            server = SparkServer(self.path("out", "spark_server_%s.log" % system))
            remote = server.remote
        try:
            if system == "larder_spark":
                self.write_larder_repo("larder_spark", "offline_store:\n  type: spark\n"
                                       "  remote: %s\n" % remote)
            if system == "feast_spark":
                self.must([self.feast, "-c", self.path(system), "apply"], env=self.env(remote))
            else:
                self.must([self.larder, "-c", self.path(system), "apply"])
            runs = self.repeat(system, remote if system == "feast_spark" else None)
        finally:
            server_peak = server.stop() if server else None
        self.results[system] = {"runs": runs, "server_peak": server_peak}

    # --- checks -----------------------------------------------------------
    def check(self):
        """Row counts, and every row's features, of the three outputs."""
        import duckdb
        outputs = {s: self.path("out", s + ".parquet") for s in SYSTEMS
                   if self.results.get(s) and self.results[s]["runs"][-1].ok}
        con = duckdb.connect()
        con.execute("SET threads = 2")
        entities = con.execute("SELECT count(*) FROM read_parquet('%s')"
                               % self.path("entities.parquet")).fetchone()[0]
        self.entity_rows = entities
        for system, path in outputs.items():
            n, distinct = con.execute("SELECT count(*), count(DISTINCT row_id) FROM "
                                      "read_parquet('%s')" % path).fetchone()
            self.checks.append(("%s: %d rows, one per entity row" % (system, n),
                                n == entities and distinct == entities,
                                "%d rows, %d distinct row_ids, %d entity rows"
                                % (n, distinct, entities)))
        if "larder_duckdb" in outputs and "larder_spark" in outputs:
            # Larder keeps the entity file's order: the two stores' rows must
            # match position by position.
            a, b = outputs["larder_duckdb"], outputs["larder_spark"]
            cols = ", ".join(["row_id"] + FEATURES)
            numbered = "(SELECT row_number() OVER () AS n, %s FROM read_parquet('%s'))"
            diff = con.execute("SELECT count(*) FROM ((SELECT * FROM %s EXCEPT ALL SELECT * FROM "
                               "%s) UNION ALL (SELECT * FROM %s EXCEPT ALL SELECT * FROM %s))"
                               % (numbered % (cols, a), numbered % (cols, b),
                                  numbered % (cols, b), numbered % (cols, a))).fetchone()[0]
            self.checks.append(("larder_spark vs larder_duckdb: rows differing in value or order",
                                diff == 0, "%d" % diff))
        if "larder_duckdb" in outputs and "feast_spark" in outputs:
            self.compare_by_row_id(con, outputs["larder_duckdb"], outputs["feast_spark"],
                                   "feast_spark vs larder_duckdb")
        con.close()

    def compare_by_row_id(self, con, a, b, name):
        """Every feature of rows joined on row_id: equal, or both null; floats
        within 1e-9 relative. Names up to 5 differing rows per feature."""
        total, details = 0, []
        # The entity columns pass through (Feast's event_timestamp comes back
        # naive, in UTC: compared as microseconds since the epoch), then the
        # features.
        for col in ["user_id", "isbn", "event_timestamp"] + FEATURES:
            if col == "event_timestamp":
                differ = ("epoch_us(a.event_timestamp) IS DISTINCT FROM "
                          "epoch_us(b.event_timestamp::TIMESTAMP)")
            elif col.startswith("avg_"):
                differ = ("(a.{c} IS NULL) <> (b.{c} IS NULL) OR abs(a.{c} - b.{c}) > "
                          "1e-9 * greatest(abs(a.{c}), abs(b.{c}))").format(c=col)
            else:
                differ = "a.{c} IS DISTINCT FROM b.{c}".format(c=col)
            query = ("FROM read_parquet('%s') a FULL JOIN read_parquet('%s') b USING (row_id) "
                     "WHERE a.row_id IS NULL OR b.row_id IS NULL OR %s" % (a, b, differ))
            n = con.execute("SELECT count(*) " + query).fetchone()[0]
            if n:
                total += n
                rows = con.execute("SELECT row_id, a.{c}, b.{c} {q} ORDER BY row_id LIMIT 5"
                                   .format(c=col, q=query)).fetchall()
                details.append("%s: %d rows, e.g. %s" % (col, n, "; ".join(
                    "row_id %s larder=%r feast=%r" % r for r in rows)))
        present = con.execute("SELECT %s FROM read_parquet('%s')" % (
            ", ".join("count(%s)" % c for c in FEATURES), a)).fetchone()
        self.checks.append(("%s: rows differing in an entity column or a feature (joined on "
                            "row_id)" % name, total == 0,
                            "%d; non-null values compared: %s%s" % (
                                total, ", ".join("%s %d" % p for p in zip(FEATURES, present)),
                                "".join("\n    " + d for d in details))))

    # --- results ----------------------------------------------------------
    def report(self):
        rows = ["| system | training data, wall time: median (min-max, n) | first run | "
                "client peak RSS | Spark server JVM peak RSS |", "|---|---|---|---|---|"]
        data = {"args": vars(self.args), "entity_rows": getattr(self, "entity_rows", None),
                "systems": {}, "checks": [], "notes": self.notes, "machine": machine()}
        for system in SYSTEMS:
            r = self.results.get(system)
            if not r:
                continue
            good = [o.seconds for o in r["runs"] if o.ok]
            bad = [o for o in r["runs"] if not o.ok]
            s = measure.summary(good) if good else None
            text = ("%.2f s (%.2f-%.2f, n=%d)" % (s["median"], s["min"], s["max"], s["n"])
                    if s else "-")
            if bad:
                text += ("; " if s else "") + bad[0].describe()
            client = max(o.peak_rss for o in r["runs"])
            server = r["server_peak"]
            if system == "feast_spark" and self.args.feast_session == "local":
                server_text = "in the client (local session)"
            else:
                server_text = "%d MiB" % (server // 2**20) if server else "- (no Spark)"
            rows.append("| %s | %s | %s | %d MiB | %s |" % (
                LABELS[system], text, "%.2f s" % r["runs"][0].seconds if r["runs"] else "-",
                client // 2**20, server_text))
            data["systems"][system] = {"seconds": good, "summary": s,
                                       "failure": bad[0].describe() if bad else None,
                                       "client_peak_rss": client, "server_peak_rss": server}
        lines = rows + [""]
        lines.append("scale %g, %s entity rows (every rating), features: %s; Feast's entity rows "
                     "as %s, its session %s" % (
                         self.args.scale, "{:,}".format(getattr(self, "entity_rows", 0) or 0),
                         ", ".join(FEATURES), self.args.feast_entities,
                         "Spark Connect (SPARK_REMOTE)" if self.args.feast_session == "connect"
                         else "a classic local[2] session in its own process"))
        for name, ok, detail in self.checks:
            lines.append("- check %s: %s (%s)" % ("passed" if ok else "FAILED", name, detail))
            data["checks"].append({"name": name, "passed": ok, "detail": detail})
        for note in self.notes:
            lines.append("- note: " + note)
        text = "\n".join(lines) + "\n"
        write(self.path("out", "results.md"), text)
        with open(self.path("out", "results.json"), "w") as f:
            json.dump(data, f, indent=1, default=str)
        print(text)
        failed = [name for name, ok, _ in self.checks if not ok]
        failed += [s for s in SYSTEMS if s in self.results and
                   not all(o.ok for o in self.results[s]["runs"])]
        return failed


def machine():
    import platform
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) // 1024
    return {"cpus": os.cpu_count(), "memory_mib": mem, "python": platform.python_version()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--larder", required=True, help="the larder binary")
    ap.add_argument("--scale", type=float, default=1.0,
                    help="example data scale (1: 1,031,175 ratings, each an entity row)")
    ap.add_argument("--reps", type=int, default=3, help="runs per system")
    ap.add_argument("--timeout", type=int, default=3600, help="seconds before a run is killed")
    ap.add_argument("--budget", type=float, default=1800,
                    help="stop repeating a system once its runs took this many seconds")
    ap.add_argument("--mem-limit-gib", type=float, default=16, help="memory limit per client")
    ap.add_argument("--feast-entities", choices=["spark", "dataframe", "sql"], default="spark",
                    help="how Feast gets the entity rows (bench/spark/feast_ops.py)")
    ap.add_argument("--feast-session", choices=["connect", "local"], default="connect",
                    help="Feast on the Spark Connect server (connect), or in a classic local[2] "
                         "session of its own (local)")
    ap.add_argument("--systems", default=",".join(SYSTEMS), help="which of " + ", ".join(SYSTEMS))
    ap.add_argument("--work", default="/tmp/larder_spark_feast_bench", help="work directory")
    args = ap.parse_args()
    systems = [s for s in args.systems.split(",") if s]
    if any(s not in SYSTEMS for s in systems):
        ap.error("--systems: one or more of " + ", ".join(SYSTEMS))
    bench = Bench(args)
    started = time.monotonic()
    log(EXCLUDED)
    bench.prepare()
    bench.write_repos()
    for system in systems:
        bench.run_system(system)
    bench.check()
    failed = bench.report()
    log("done in %.0f s; results in %s" % (time.monotonic() - started,
                                           bench.path("out", "results.md")))
    if failed:
        log("FAILED: " + "; ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
