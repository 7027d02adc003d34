"""Larder against Feast 0.67 on the same data, on this machine, in one run.

bench/feast/run.sh sets up the venv and the build, then runs this with the
venv's Python. See docs/BENCHMARKS.md ("Larder against Feast") for what each
figure means and the results.

Work directory layout (default /tmp/larder_feast_bench, rebuilt each run):
  build/         a Larder repo: example data at --scale, `larder run` for the
                 SQL models, whose tables are then exported to
                 build/data/models/*.parquet
  larder/        the benchmarked Larder repo: the example's definitions with
                 every source a file source on build/data/ (RocksDB online),
                 plus the push view and the feature service of the views both
                 systems compute (SHARED_VIEWS, SERVICE, PUSH_VIEW below)
  larder_redis/  the same, online store on the shared redis-server
  feast/         the Feast repo (examples/book_recs/feast/book_recs.py) on
                 the same files: file offline store, SQLite online store
  feast_duckdb/  the same with Feast's DuckDB offline store
  feast_redis/   the same with the Redis online store
  wide/          the wide training set (wide.py)
  results.json, results.md
"""

import argparse
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import crosscheck
import measure
import wide

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FEAST_DEFINITIONS = os.path.join(ROOT, "examples", "book_recs", "feast", "book_recs.py")
ALL_TIME = ("1900-01-01T00:00:00", "2100-01-01T00:00:00")
MODELS = ["avg_book_category_ratings", "bucketed_age"]
# The example's aggregation views (book_agg_rating_features,
# user_agg_rating_features, agg_user_features_1d) are left out of every
# figure and cross-check: Feast 0.67 declares them (StreamFeatureView with
# Aggregation) but cannot compute them, neither `feast materialize` ("Time
# window aggregation is not supported in the local compute engine") nor
# get_historical_features with the file offline store (it looks for the
# outputs, e.g. avg_day_user_rating, as columns of the source: KeyError
# "[...] not in index"). Both systems are
# measured on the views both compute: the plain views below, two of them over
# the SQL models both have, served through the feature service SERVICE that
# this harness adds to both repos.
SHARED_VIEWS = ["book_features", "user_features", "user_age_features",
                "avg_book_category_rating_features"]
SERVICE = "bench_shared"
# A plain view over a push source of its own, for the push figure: the
# example's push source feeds only aggregation views, which Feast cannot
# compute. Pushed rows carry user_id, rating and rating_timestamp.
PUSH_SOURCE = "bench_ratings_push"
PUSH_VIEW = "bench_user_last_rating"
EXCLUDED = ("aggregation views (book_agg_rating_features, user_agg_rating_features, "
            "agg_user_features_1d) excluded from the Feast comparison: Feast 0.67 cannot compute "
            "them (`feast materialize`: \"Time window aggregation is not supported in the local "
            "compute engine\"; get_historical_features with the file offline store looks for the "
            "aggregations' output names as source columns: KeyError \"['avg_day_user_rating', ...] "
            "not in index\"); every figure and cross-check uses the plain views both compute: "
            + ", ".join(SHARED_VIEWS))


def log(msg):
    print("[bench-feast %s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


class Bench:
    def __init__(self, args):
        self.args = args
        self.work = os.path.abspath(args.work)
        self.larder = os.path.abspath(args.larder)
        self.venv_bin = os.path.dirname(sys.executable)
        self.feast = os.path.join(self.venv_bin, "feast")
        self.figures = []      # one dict per figure, in table order
        self.checks = {}       # correctness cross-checks
        self.notes = [EXCLUDED]

    # --- running ----------------------------------------------------------
    def path(self, *parts):
        return os.path.join(self.work, *parts)

    def env(self):
        return dict(os.environ, LARDER_REPO=self.path("build"), PYTHONUNBUFFERED="1")

    def must(self, cmd, cwd=None, timeout=3600):
        out = measure.run(cmd, cwd=cwd, env=self.env(), timeout=timeout,
                          mem_limit=self.args.mem_limit_gib * 2**30)
        if not out.ok:
            raise RuntimeError("%s: %s\n%s" % (" ".join(cmd), out.describe(), out.stderr[-3000:]))
        return out

    def larder_cmd(self, repo, *args):
        return [self.larder, "-c", self.path(repo)] + list(args)

    def feast_cmd(self, repo, *args):
        return [self.feast, "-c", self.path(repo)] + list(args)

    def feast_materialize(self, repo):
        """`feast materialize` of the shared views over all time."""
        views = [a for v in SHARED_VIEWS for a in ("--views", v)]
        return self.feast_cmd(repo, "materialize", *ALL_TIME, *views)

    def larder_materialize(self, repo):
        """`larder materialize` of the shared views over all time."""
        return self.larder_cmd(repo, "materialize", *[t + "Z" for t in ALL_TIME],
                               "--views", ",".join(SHARED_VIEWS))

    def feast_op(self, *args):
        return [sys.executable, os.path.join(HERE, "feast_ops.py")] + list(args)

    def repeat(self, cmd, before=None, cwd=None):
        """Runs cmd up to --reps times (fewer once --budget seconds are spent);
        returns the list of Outcomes, stopping at the first that is not ok."""
        outcomes, spent = [], 0.0
        for _ in range(self.args.reps):
            if before:
                before()
            out = measure.run(cmd, cwd=cwd, env=self.env(), timeout=self.args.timeout,
                              mem_limit=self.args.mem_limit_gib * 2**30)
            outcomes.append(out)
            spent += out.seconds
            if not out.ok:
                log("  %s: %s" % (os.path.basename(cmd[0]), out.describe()))
                if out.status == "failed":
                    log(out.stderr[-2000:])
                break
            if spent > self.args.budget:
                break
        return outcomes

    def record(self, figure, unit, feast, larder, better="lower"):
        """Adds one figure; feast and larder are lists of Outcomes (times) or of
        numbers (throughputs, with better="higher")."""
        def side(results):
            if results and isinstance(results[0], measure.Outcome):
                good = [o.seconds for o in results if o.ok]
                bad = [o for o in results if not o.ok]
                return {"values": good, "summary": measure.summary(good) if good else None,
                        "failure": bad[0].describe() if bad else None,
                        "peak_rss": max(o.peak_rss for o in results)}
            return {"values": results, "summary": measure.summary(results) if results else None,
                    "failure": None, "peak_rss": None}
        f, l = side(feast), side(larder)
        ratio, at_least = None, False
        if f["summary"] and l["summary"] and not f["failure"]:
            fm, lm = f["summary"]["median"], l["summary"]["median"]
            ratio = fm / lm if better == "lower" else lm / fm
        elif f["failure"] and l["summary"] and better == "lower" and feast:
            # Feast stopped at a limit: its time is at least the time it ran.
            failed = [o for o in feast if not o.ok][0]
            if failed.status in ("timeout", "memory"):
                ratio, at_least = failed.seconds / l["summary"]["median"], True
        self.figures.append({"figure": figure, "unit": unit, "feast": f, "larder": l,
                             "ratio": ratio, "at_least": at_least})
        log("%s: Feast %s, Larder %s, ratio %s" % (
            figure, self._fmt(f, unit), self._fmt(l, unit), _ratio(self.figures[-1])))

    def set_peak(self, figure, feast_peak, larder_peak):
        for fig in self.figures:
            if fig["figure"] == figure:
                fig["feast"]["peak_rss"], fig["larder"]["peak_rss"] = feast_peak, larder_peak

    @staticmethod
    def _fmt(side, unit):
        s = side["summary"]
        if s is None:
            return side["failure"] or "n/a"
        text = "%s %s (%s-%s, n=%d)" % (_num(s["median"]), unit, _num(s["min"]), _num(s["max"]),
                                        s["n"])
        if side["failure"]:
            text += "; then " + side["failure"]
        return text

    # --- preparation ------------------------------------------------------
    def prepare(self):
        if os.path.exists(self.work):
            shutil.rmtree(self.work)
        os.makedirs(self.work)
        log("generating the example at scale %g and building its SQL models" % self.args.scale)
        self.must([self.larder, "init", self.path("build"), "--template", "book_recs"])
        # The workshop's fixed timeline, so that runs on different days compare.
        self.must(self.larder_cmd("build", "demo-data", "--scale", str(self.args.scale),
                                  "--end", "2023-01-01T00:00:00Z"))
        self.must(self.larder_cmd("build", "apply"))
        run = self.must(self.larder_cmd("build", "run"))
        log("larder run: %.1f s" % run.seconds)
        self.export_models()
        self.write_larder_repo("larder", "online_store:\n  type: rocksdb\n  path: data/online_store\n")
        self.write_feast_repo("feast", "online_store:\n  type: sqlite\n  path: data/online_store.db\n"
                              "offline_store:\n  type: file\n")
        self.write_feast_repo("feast_duckdb", "online_store:\n  type: sqlite\n"
                              "  path: data/online_store.db\noffline_store:\n  type: duckdb\n")
        self.write_entity_files()

    def export_models(self):
        """The SQL models' tables, as `larder run` built them, to parquet: the
        one copy both systems read."""
        import duckdb
        out_dir = self.path("build", "data", "models")
        os.makedirs(out_dir)
        con = duckdb.connect(self.path("build", "data", "offline_store.duckdb"), read_only=True)
        for model in MODELS:
            con.execute("COPY %s TO '%s' (FORMAT parquet)" % (model, os.path.join(out_dir,
                                                                                   model + ".parquet")))
        con.close()

    def write_larder_repo(self, name, online_store):
        """The example's definitions with every source a file source on build/data/."""
        repo = self.path(name)
        os.makedirs(os.path.join(repo, "data"))
        src = self.path("build")
        for f in ["entities.yaml", "feature_views.yaml", "feature_services.yaml"]:
            shutil.copy(os.path.join(src, f), repo)
        write(os.path.join(repo, "feature_store.yaml"),
              "project: book_recs\nregistry: data/registry.db\nprovider: local\n" + online_store +
              "offline_store:\n  type: duckdb\n  path: data/offline_store.duckdb\n"
              "entity_key_serialization_version: 3\n")
        raw = [("users_source", "raw/users", "signup_date"),
               ("books_source", "raw/books", "created_at"),
               ("ratings_source", "raw/ratings", "rating_timestamp"),
               ("avg_book_category_ratings_source", "models/avg_book_category_ratings",
                "rating_timestamp"),
               ("bucketed_age_source", "models/bucketed_age", "signup_date")]
        text = "data_sources:\n"
        for source, path, ts in raw:
            text += ("  - name: %s\n    type: file\n    path: %s\n    timestamp_field: %s\n"
                     % (source, os.path.join(src, "data", path + ".parquet"), ts))
        # The example's kinesis source (agg_user_features_1d reads it) is a
        # push source of the same name here: the bench streams nothing.
        for push in ["user_ratings_push", "book_ratings_stream", PUSH_SOURCE]:
            text += "  - name: %s\n    type: push\n    batch_source: ratings_source\n" % push
        write(os.path.join(repo, "data_sources.yaml"), text)
        # The bench's push view and the service of the shared views.
        with open(os.path.join(repo, "feature_views.yaml"), "a") as f:
            f.write("\n  - name: %s\n    entities: [user]\n    ttl: 1095d\n    schema:\n"
                    "      - {name: rating, dtype: Int64}\n    source: %s\n"
                    % (PUSH_VIEW, PUSH_SOURCE))
        with open(os.path.join(repo, "feature_services.yaml"), "a") as f:
            f.write("\n  - name: %s\n    features: [%s]\n" % (SERVICE, ", ".join(SHARED_VIEWS)))

    def write_feast_repo(self, name, stores):
        repo = self.path(name)
        os.makedirs(os.path.join(repo, "data"))
        shutil.copy(FEAST_DEFINITIONS, repo)
        with open(os.path.join(repo, os.path.basename(FEAST_DEFINITIONS)), "a") as f:
            f.write("\n\n# Added by bench/feast/harness.py: the push view and the service of\n"
                    "# the views both systems compute.\n"
                    "%s = PushSource(name=%r, batch_source=ratings_source)\n"
                    "%s = _view(%r, user, 1095, [(\"rating\", Int64)], %s)\n"
                    "%s = FeatureService(name=%r, features=[%s])\n"
                    % (PUSH_SOURCE, PUSH_SOURCE, PUSH_VIEW, PUSH_VIEW, PUSH_SOURCE,
                       SERVICE, SERVICE, ", ".join(SHARED_VIEWS)))
        write(os.path.join(repo, "feature_store.yaml"),
              "project: book_recs\nregistry: data/registry.db\nprovider: local\n" + stores +
              "entity_key_serialization_version: 3\n")

    def write_entity_files(self):
        """Entity tables sampled from the ratings, and the serving key pairs."""
        import duckdb
        ratings = self.path("build", "data", "raw", "ratings.parquet")
        con = duckdb.connect()
        con.execute("SET threads = 2")
        base = ("SELECT (row_number() OVER () - 1)::BIGINT AS row_id, user_id, isbn, "
                "rating_timestamp AS event_timestamp FROM (SELECT * FROM read_parquet('%s') %s)")
        for name, sample in [("all", ""),
                             ("100k", "USING SAMPLE 100000 ROWS (reservoir, 1)"),
                             ("10k", "USING SAMPLE 10000 ROWS (reservoir, 2)")]:
            con.execute("COPY (%s) TO '%s' (FORMAT parquet)"
                        % (base % (ratings, sample), self.path("entities_%s.parquet" % name)))
        con.execute("COPY (SELECT user_id, isbn FROM read_parquet('%s') "
                    "USING SAMPLE 20000 ROWS (reservoir, 3)) TO '%s' (HEADER)"
                    % (ratings, self.path("pairs.csv")))
        self.entity_counts = {name: con.execute("SELECT count(*) FROM '%s'" % self.path(
            "entities_%s.parquet" % name)).fetchone()[0] for name in ["all", "100k", "10k"]}
        con.close()

    # --- figures ----------------------------------------------------------
    def bench_apply(self):
        log("apply")

        def fresh(repo, *names):
            def clear():
                for n in names:
                    p = self.path(repo, "data", n)
                    shutil.rmtree(p) if os.path.isdir(p) else os.path.exists(p) and os.remove(p)
            return clear
        feast = self.repeat(self.feast_cmd("feast", "apply"),
                            fresh("feast", "registry.db", "online_store.db"))
        larder = self.repeat(self.larder_cmd("larder", "apply"),
                             fresh("larder", "registry.db", "online_store"))
        self.record("apply (the example's 7 views and 4 services, plus the bench's push view "
                    "and service)", "s", feast, larder)
        self.must(self.feast_cmd("feast_duckdb", "apply"))
        shutil.copy(self.path("feast", "data", "online_store.db"),
                    self.path("feast", "data", "online_store.db.applied"))

    def bench_materialize(self):
        log("materialize, full history: Feast into SQLite, Larder into RocksDB")
        feast = self.repeat(self.feast_materialize("feast"),
                            lambda: shutil.copy(self.path("feast", "data", "online_store.db.applied"),
                                                self.path("feast", "data", "online_store.db")))
        larder = self.repeat(self.larder_materialize("larder"),
                             lambda: shutil.rmtree(self.path("larder", "data", "online_store"),
                                                   ignore_errors=True))
        self.record("materialize full history: Feast SQLite vs Larder RocksDB", "s", feast, larder)

    def bench_historical(self):
        for name, label in [("100k", "%s entity rows" % _num(self.entity_counts["100k"])),
                            ("all", "all %s ratings" % _num(self.entity_counts["all"]))]:
            entities = self.path("entities_%s.parquet" % name)
            out = {}
            for repo in ["feast", "feast_duckdb"]:
                log("get_historical_features, %s, %s: %s" % (SERVICE, label, repo))
                out[repo] = self.repeat(self.feast_op("historical", self.path(repo), entities,
                                                      SERVICE, self.path("%s_%s.parquet"
                                                                            % (repo, name))))
            log("larder historical, %s, %s" % (SERVICE, label))
            larder = self.repeat(self.larder_cmd(
                "larder", "historical", "--feature-service", SERVICE, "--entities", entities,
                "--output", self.path("larder_%s.parquet" % name)))
            self.record("training data, %s, %s: Feast file store" % (SERVICE, label), "s",
                        out["feast"], larder)
            self.record("training data, %s, %s: Feast DuckDB store" % (SERVICE, label), "s",
                        out["feast_duckdb"], larder)

    def cross_check_training(self):
        log("cross-check: %s training data for the 10k-row sample" % SERVICE)
        entities = self.path("entities_10k.parquet")
        larder_out = self.path("larder_10k.parquet")
        self.must(self.larder_cmd("larder", "historical", "--feature-service", SERVICE,
                                  "--entities", entities, "--output", larder_out))
        import pandas as pd
        larder = pd.read_parquet(larder_out)
        larder_rows = set(larder.row_id)
        expected_drops = crosscheck.rows_feast_file_store_drops(entities, self.shared_views())
        for repo in ["feast", "feast_duckdb"]:
            out = self.path("%s_10k.parquet" % repo)
            self.must(self.feast_op("historical", self.path(repo), entities, SERVICE, out))
            feast = pd.read_parquet(out)
            dropped = larder_rows - set(feast.row_id)
            mismatches = []
            if dropped:
                # Feast's file offline store leaves out every entity row with a
                # view whose rows for the key all lie outside [time - ttl, time],
                # where Larder (and Feast's DuckDB store) keep the row with that
                # view's features null. Anything else dropped is a difference.
                if dropped == expected_drops:
                    self.checks["training data, 10k rows: rows %s drops, each with a view "
                                "past its ttl (Larder keeps them, nulled)" % repo] = len(dropped)
                else:
                    mismatches.append("%d rows missing from %s, %d of them with a view past "
                                      "its ttl" % (len(dropped), repo,
                                                   len(dropped & expected_drops)))
            mismatches += crosscheck.compare_training_sets(
                larder[larder.row_id.isin(feast.row_id)], feast)
            self.checks["training data, 10k rows, Larder vs %s" % repo] = mismatches
            log("  vs %s: %d rows dropped by Feast, %d differences%s" % (
                repo, len(dropped), len(mismatches),
                "".join("\n    " + m for m in mismatches[:10])))

    def shared_views(self):
        """SHARED_VIEWS as (source parquet, join key, timestamp, ttl days)."""
        data = self.path("build", "data")
        return [(os.path.join(data, path + ".parquet"), key, ts, ttl) for path, key, ts, ttl in [
            ("raw/books", "isbn", "created_at", 54750),
            ("models/avg_book_category_ratings", "isbn", "rating_timestamp", 1095),
            ("raw/users", "user_id", "signup_date", 1095),
            ("models/bucketed_age", "user_id", "signup_date", 1095)]]

    def serve(self, system, repo):
        """Starts a feature server; returns (server, url)."""
        port = free_port()
        if system == "larder":
            cmd = self.larder_cmd(repo, "serve", "--port", str(port), "--workers",
                                  str(self.args.workers))
        else:
            cmd = self.feast_cmd(repo, "serve", "--port", str(port), "--workers",
                                 str(self.args.workers), "--no-access-log",
                                 "--max-requests", "100000000")
        server = measure.Server(cmd, self.path("%s_%s_serve.log" % (repo, port)), env=self.env())
        url = "http://127.0.0.1:%d" % port
        server.wait_ready(lambda: _http_ok(url + "/health"))
        return server, url

    def load(self, url, pairs):
        runs = []
        for _ in range(self.args.reps):
            runs.append(measure.wrk(url, os.path.join(ROOT, "bench", "serve_wrk.lua"),
                                    self.args.seconds, {"PAIRS_FILE": self.path("pairs.csv"),
                                                        "PAIRS": str(pairs),
                                                        "FEATURE_SERVICE": SERVICE},
                                    connections=self.args.connections))
        return runs

    def push_load(self, url):
        rows = 100
        runs = [measure.wrk(url, os.path.join(HERE, "push_wrk.lua"), self.args.seconds,
                            {"PAIRS_FILE": self.path("pairs.csv"), "ROWS": str(rows),
                             "PUSH_SOURCE": PUSH_SOURCE},
                            connections=8) for _ in range(self.args.reps)]
        for r in runs:
            r["rows_per_s"] = r["rps"] * rows
        return runs

    def bench_serving(self, label, feast_repo, larder_repo, with_push):
        loads = {}
        peaks = {}
        feast_online = self.feast_online_read() if with_push else None
        for system, repo in [("feast", feast_repo), ("larder", larder_repo)]:
            log("serving %s: %s serve" % (label, system))
            server, url = self.serve(system, repo)
            try:
                for pairs in (1, 100):
                    _warm(url, self.path("pairs.csv"), pairs)
                    loads[system, pairs] = self.load(url, pairs)
                if system == "larder" and feast_online:
                    self.cross_check_online(feast_online, url)
                if with_push:
                    loads[system, "push"] = self.push_load(url)
            finally:
                peaks[system] = server.stop()
        for pairs in (1, 100):
            for metric, unit, better in [("rps", "req/s", "higher"), ("p50_ms", "ms", "lower"),
                                         ("p99_ms", "ms", "lower")]:
                name = "online serving %s, %d pair%s per request: %s" % (
                    label, pairs, "" if pairs == 1 else "s",
                    {"rps": "throughput", "p50_ms": "p50", "p99_ms": "p99"}[metric])
                self.record(name, unit, [r[metric] for r in loads["feast", pairs]],
                            [r[metric] for r in loads["larder", pairs]], better)
        if with_push:
            self.record("push throughput via /push, online, 100 rows per request into %s"
                        % PUSH_VIEW, "rows/s",
                        [r["rows_per_s"] for r in loads["feast", "push"]],
                        [r["rows_per_s"] for r in loads["larder", "push"]], "higher")
        self.set_peak("online serving %s, 1 pair per request: throughput" % label,
                      peaks["feast"], peaks["larder"])
        self.note_errors(label, loads)

    def note_errors(self, label, loads):
        """Failed requests of each load run, by system (throughput counts 2xx only)."""
        for (system, what), runs in sorted(loads.items(), key=str):
            non2xx = sum(r["non2xx"] for r in runs)
            sock = sum(r["socket_errors"] for r in runs)
            if non2xx or sock:
                self.notes.append("%s %s, %s: %d of %d answers not 2xx, %d socket errors "
                                  "(timeouts at wrk's 2 s included)"
                                  % (system, label, "push" if what == "push" else
                                     "%s pairs" % what, non2xx, sum(r["requests"] for r in runs),
                                     sock))

    def feast_online_read(self):
        """Feast's Python read of 1,000 random pairs, before any push."""
        log("cross-check: Feast's online values of 1,000 random pairs")
        with open(self.path("pairs.csv")) as f:
            pairs = [line.strip().split(",", 1) for line in list(f)[1:]]
        rng = random.Random(5)
        sample = [pairs[rng.randrange(len(pairs))] for _ in range(1000)]
        rows = [{"user_id": int(u), "isbn": i} for u, i in sample]
        with open(self.path("online_pairs.json"), "w") as f:
            json.dump(rows, f)
        self.must(self.feast_op("online", self.path("feast"), self.path("online_pairs.json"),
                                SERVICE, self.path("feast_online.json")))
        with open(self.path("feast_online.json")) as f:
            return {"rows": rows, "response": json.load(f)}

    def cross_check_online(self, feast_online, larder_url):
        """The same pairs from Larder's server, compared with Feast's read."""
        rows, feast = feast_online["rows"], feast_online["response"]
        body = json.dumps({"feature_service": SERVICE,
                           "entities": {"user_id": [r["user_id"] for r in rows],
                                        "isbn": [r["isbn"] for r in rows]}}).encode()
        request = urllib.request.Request(larder_url + "/get-online-features", data=body,
                                         headers={"Content-Type": "application/json"})
        larder = json.load(urllib.request.urlopen(request, timeout=60))
        mismatches, ttl_expected = crosscheck.compare_online(feast, larder)
        self.checks["online values, 1,000 pairs, Larder vs Feast"] = mismatches
        self.checks["online: Larder OUTSIDE_MAX_AGE where Feast shows the stored value"] = \
            ttl_expected
        log("  %d differences, %d expected ttl differences%s" % (
            len(mismatches), ttl_expected, "".join("\n    " + m for m in mismatches[:10])))

    def bench_redis(self):
        log("Redis: one redis-server for both")
        port = free_port()
        redis = measure.Server(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                                "--save", "", "--appendonly", "no"], self.path("redis.log"))
        try:
            redis.wait_ready(lambda: subprocess.run(["redis-cli", "-p", str(port), "ping"],
                                                    capture_output=True).returncode == 0)
            conn = "127.0.0.1:%d" % port
            self.write_larder_repo("larder_redis", "online_store:\n  type: redis\n"
                                   "  connection_string: \"%s\"\n" % conn)
            self.write_feast_repo("feast_redis", "online_store:\n  type: redis\n"
                                  "  connection_string: \"%s\"\noffline_store:\n  type: file\n"
                                  % conn)
            self.must(self.larder_cmd("larder_redis", "apply"))
            self.must(self.feast_cmd("feast_redis", "apply"))
            flush = lambda: subprocess.run(["redis-cli", "-p", str(port), "flushall"],
                                           capture_output=True, check=True)
            feast = self.repeat(self.feast_materialize("feast_redis"), flush)
            loads_feast = self._serve_1_pair("feast", "feast_redis")
            larder = self.repeat(self.larder_materialize("larder_redis"), flush)
            loads_larder = self._serve_1_pair("larder", "larder_redis")
            self.record("materialize full history, both into Redis", "s", feast, larder)
            self.record("online serving Redis, 1 pair per request: throughput", "req/s",
                        [r["rps"] for r in loads_feast], [r["rps"] for r in loads_larder],
                        "higher")
            self.record("online serving Redis, 1 pair per request: p99", "ms",
                        [r["p99_ms"] for r in loads_feast], [r["p99_ms"] for r in loads_larder])
            self.note_errors("Redis", {("feast", 1): loads_feast, ("larder", 1): loads_larder})
        finally:
            redis.stop()

    def _serve_1_pair(self, system, repo):
        server, url = self.serve(system, repo)
        try:
            _warm(url, self.path("pairs.csv"), 1)
            return self.load(url, 1)
        finally:
            server.stop()

    def bench_wide(self):
        n = self.args.wide_rows
        log("wide training set: %d entity rows x %d features over %d views"
            % (n, self.args.wide_views * self.args.wide_features, self.args.wide_views))
        spec = wide.generate(self.path("build", "data", "raw", "ratings.parquet"),
                             self.path("wide"), entity_rows=n, views=self.args.wide_views,
                             features_per_view=self.args.wide_features)
        self.must([self.larder, "-c", spec["larder_repo"], "apply"])
        self.must([self.feast, "-c", spec["feast_repo"], "apply"])
        feast = self.repeat(self.feast_op("historical", spec["feast_repo"], spec["entities"],
                                          "wide", self.path("feast_wide.parquet")))
        larder = self.repeat([self.larder, "-c", spec["larder_repo"], "historical",
                              "--feature-service", "wide", "--entities", spec["entities"],
                              "--output", self.path("larder_wide.parquet")])
        self.record("wide training set, %s rows x %d features, %d views: Feast file store"
                    % (_num(spec["entity_rows"]), spec["features"], spec["views"]), "s",
                    feast, larder)
        if feast and feast[-1].ok and larder and larder[-1].ok:
            import pandas as pd
            mismatches = crosscheck.compare_training_sets(
                pd.read_parquet(self.path("larder_wide.parquet")),
                pd.read_parquet(self.path("feast_wide.parquet")))
            self.checks["wide training set, Larder vs feast"] = mismatches
            log("  cross-check: %d differences" % len(mismatches))

    # --- results ----------------------------------------------------------
    def report(self):
        results = {"args": vars(self.args), "entity_counts": self.entity_counts,
                   "figures": self.figures, "checks": self.checks, "notes": self.notes,
                   "machine": machine()}
        with open(self.path("results.json"), "w") as f:
            json.dump(results, f, indent=1, default=str)
        lines = ["| figure | Feast | Larder | Larder's advantage | peak RSS Feast / Larder |",
                 "|---|---|---|---|---|"]
        for fig in self.figures:
            peak = ""
            if fig["feast"]["peak_rss"] or fig["larder"]["peak_rss"]:
                peak = "%s / %s" % (_mib(fig["feast"]["peak_rss"]), _mib(fig["larder"]["peak_rss"]))
            lines.append("| %s | %s | %s | %s | %s |" % (
                fig["figure"], self._fmt(fig["feast"], fig["unit"]),
                self._fmt(fig["larder"], fig["unit"]),
                _ratio(fig), peak))
        lines.append("")
        for name, value in self.checks.items():
            count = len(value) if isinstance(value, list) else value
            lines.append("- %s: %s" % (name, count))
        for note in self.notes:
            lines.append("- note: " + note)
        text = "\n".join(lines) + "\n"
        write(self.path("results.md"), text)
        print(text)
        # A Feast run stopped at a limit is a result; a Larder run that fails
        # is an error, as is any difference a cross-check finds.
        failed = [n for n, v in self.checks.items() if isinstance(v, list) and v]
        failed += ["Larder: " + fig["figure"] for fig in self.figures if fig["larder"]["failure"]]
        return failed


def _warm(url, pairs_file, pairs):
    """A few requests before measuring, so that both servers have loaded
    their registry and opened their stores."""
    with open(pairs_file) as f:
        rows = [line.strip().split(",", 1) for line in list(f)[1:pairs + 1]]
    body = json.dumps({"feature_service": SERVICE,
                       "entities": {"user_id": [int(u) for u, _ in rows],
                                    "isbn": [i for _, i in rows]}}).encode()
    for _ in range(20):
        request = urllib.request.Request(url + "/get-online-features", data=body,
                                         headers={"Content-Type": "application/json"})
        urllib.request.urlopen(request, timeout=60).read()


def _ratio(fig):
    if fig["ratio"] is None:
        return "n/a"
    return ("> %.1fx (Feast stopped at a limit)" if fig["at_least"] else "%.1fx") % fig["ratio"]


def _http_ok(url):
    try:
        return urllib.request.urlopen(url, timeout=2).status == 200
    except OSError:
        return False


def _num(x):
    if isinstance(x, int) or float(x).is_integer() and abs(x) >= 100:
        return "{:,}".format(int(x))
    return "%.3g" % x if abs(x) < 100 else "{:,.0f}".format(x)


def _mib(b):
    return "%d MiB" % (b / 2**20) if b else "-"


def machine():
    import platform
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) // 1024
    model = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"cpus": os.cpu_count(), "cpu": model, "memory_mib": mem,
            "python": platform.python_version()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--larder", required=True, help="the larder binary")
    ap.add_argument("--scale", type=float, default=1.0, help="example data scale (1.0: ~1.03M ratings)")
    ap.add_argument("--reps", type=int, default=3, help="repetitions per figure")
    ap.add_argument("--seconds", type=int, default=10, help="seconds per load run")
    ap.add_argument("--connections", type=int, default=64, help="wrk connections")
    ap.add_argument("--workers", type=int, default=2, help="server workers, both systems")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds before a run is killed")
    ap.add_argument("--budget", type=float, default=600,
                    help="stop repeating a figure once its runs took this many seconds")
    ap.add_argument("--mem-limit-gib", type=float, default=16, help="memory limit per process")
    ap.add_argument("--wide-rows", type=int, default=17000)
    ap.add_argument("--wide-views", type=int, default=20)
    ap.add_argument("--wide-features", type=int, default=50, help="features per wide view")
    ap.add_argument("--work", default="/tmp/larder_feast_bench", help="work directory")
    ap.add_argument("--only", default="", help="run only these comma-separated parts of "
                    "materialize,historical,check,serving,redis,wide (the example is always "
                    "prepared and applied; serving needs materialize)")
    args = ap.parse_args()
    bench = Bench(args)
    parts = set(args.only.split(",")) if args.only else None
    started = time.monotonic()
    log(EXCLUDED)
    bench.prepare()
    for part, step in [("apply", bench.bench_apply), ("materialize", bench.bench_materialize),
                       ("historical", bench.bench_historical),
                       ("check", bench.cross_check_training),
                       ("serving", lambda: bench.bench_serving("SQLite vs RocksDB", "feast",
                                                               "larder", True)),
                       ("redis", bench.bench_redis), ("wide", bench.bench_wide)]:
        if parts is None or part in parts or part == "apply":
            step()
    failed = bench.report()
    log("done in %.0f s; results in %s" % (time.monotonic() - started, bench.path("results.md")))
    if failed:
        log("failed (Larder runs, or cross-checks with differences): " + ", ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
