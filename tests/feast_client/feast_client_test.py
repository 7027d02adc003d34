"""Feast's own client reads the book_recs example's model_v4 from `larder serve`.

A real Feast (feast==0.67.0, in the venv scripts/feast_venv.sh installs) with
`online_store: {type: remote, path: http://127.0.0.1:PORT}` calls
`FeatureStore.get_online_features` for about 20 (user, book) pairs, one of
them an unknown user and one an unknown isbn; every value and status it
returns must equal what `larder online` prints for the same entity row.

    third_party/feast_venv/bin/python tests/feast_client/feast_client_test.py \
        --larder build/larder --source-dir .

Plain Python with asserts; exits non-zero on the first mismatch. Runs in a
temporary directory, removed at the end unless --keep is given. The server is
always stopped (SIGTERM, then SIGKILL) however the test ends.

Expected differences between Feast's read and `larder online`, none of which
the comparison has to excuse:
- ttl: Feast's remote online store does not read any store itself; it posts
  the whole request to /get-online-features and shows what the server
  decided. Larder judges ttl on read (value null, status OUTSIDE_MAX_AGE),
  so Feast shows that too. (Feast's own local read path does not check ttl:
  a stored value of any age is PRESENT there.) Both Larder reads judge ttl
  against the system clock, seconds apart, and no row of the test data lies
  near a ttl boundary, so the two agree.
- event_timestamps: Feast's remote client drops them (its OnlineResponse has
  none); they are not compared.
- types: the remote client rebuilds each value from its JSON form (int ->
  INT64, float -> DOUBLE, str -> STRING), not from the view's dtype. The test
  checks that every Int64 feature comes back as int, Float64 as float and
  String as str, so a Float64 printed as `4` instead of `4.0` would fail here.
- statuses: strings other than PRESENT, NOT_FOUND, NULL_VALUE and
  OUTSIDE_MAX_AGE become INVALID in Feast; the test compares them by name.

The generated ratings end in 2022, so against today's clock every view with
a 3-year ttl (user_features, avg_book_category_rating_features) reads
OUTSIDE_MAX_AGE, and the rating aggregation views' windows (1, 7 and 365 days
before now) hold no generated rating: those means are null and counts 0 on
both sides. The test pushes fresh ratings by three users, each of a book they
rated, so that the aggregation views have PRESENT means per user and per book.

Feast 0.67's client sends `"include_feature_view_version_metadata": false`
in every /get-online-features body; the server must accept that field.
"""

import argparse
import datetime as dt
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

FEAST_VERSION = "0.67.0"
HERE = os.path.dirname(os.path.abspath(__file__))
UNKNOWN_USER = 987654321
UNKNOWN_ISBN = "not-an-isbn"
# Users whose fresh ratings the test pushes, so that the aggregation views
# have PRESENT values now (the generated data ends in 2022, before every
# window), and the day's mean and count those ratings give.
PUSHED = [(1, [0, 0, 1]), (2, [7, 8, 6, 8]), (3, [10])]
EXPECTED_DAY = {1: (1.0 / 3.0, 3), 2: (7.25, 4), 3: (10.0, 1)}


def log(msg):
    print("[feast-client-test] " + msg, flush=True)


def run(cmd, cwd=None, env=None, timeout=120):
    """Runs cmd, returns its stdout; raises with its output if it fails."""
    r = subprocess.run(cmd, cwd=cwd, env=env, timeout=timeout, text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        raise AssertionError("%s exited with %d\nstdout:\n%s\nstderr:\n%s"
                             % (" ".join(cmd), r.returncode, r.stdout, r.stderr))
    return r.stdout


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def set_up_larder_repo(larder, repo, now):
    """The example as tests/serve_cli_test.cc sets it up, materialized up to now."""
    run([larder, "init", repo, "--template", "book_recs"])
    c = [larder, "-c", repo]
    run(c + ["demo-data", "--scale", "0.01", "--end", "2023-01-01T00:00:00Z"])
    run(c + ["apply"])
    run(c + ["run"])
    pushed = os.path.join(os.path.dirname(repo), "pushed.csv")
    ratings = rated_books(repo)
    with open(pushed, "w") as f:
        f.write("user_id,isbn,rating_timestamp,rating\n")
        for user, values in PUSHED:
            # A minute apart: identical rows are one event.
            for i, value in enumerate(values):
                stamp = (now - dt.timedelta(hours=2, minutes=i)).strftime("%Y-%m-%d %H:%M:%S")
                f.write("%d,%s,%s,%d\n" % (user, ratings[user], stamp, value))
    # The same ratings to both sources that hold ratings: user_ratings_push
    # feeds the 365-day aggregates, the kinesis source book_ratings_stream
    # (whose name a push takes too) agg_user_features_1d.
    for source in ["user_ratings_push", "book_ratings_stream"]:
        run(c + ["push", source, pushed, "--to", "offline"])
    # Books are stamped Jan 1 of their publication year, back to 1815.
    log(run(c + ["materialize", "1800-01-01T00:00:00Z", iso(now)]).rstrip())


def rated_books(repo):
    """{user: the first book each pushed user rated in the generated data}."""
    import pyarrow.parquet as pq

    ratings = pq.read_table(os.path.join(repo, "data", "raw", "ratings.parquet"),
                            columns=["user_id", "isbn"]).to_pylist()
    first = {}
    for user, _ in PUSHED:
        first[user] = next((r["isbn"] for r in ratings if r["user_id"] == user), ratings[0]["isbn"])
    return first


def entity_rows(repo):
    """~20 (user_id, isbn) pairs from the generated ratings, plus unknown keys."""
    import pyarrow.parquet as pq

    ratings = pq.read_table(os.path.join(repo, "data", "raw", "ratings.parquet"),
                            columns=["user_id", "isbn"]).to_pylist()
    assert len(ratings) > 1000, len(ratings)
    pairs = list(rated_books(repo).items())  # the book each pushed user rated again
    step = len(ratings) // 15
    for r in ratings[::step][:15]:
        if (r["user_id"], r["isbn"]) not in pairs:
            pairs.append((r["user_id"], r["isbn"]))
    pairs.append((UNKNOWN_USER, pairs[0][1]))
    pairs.append((pairs[1][0], UNKNOWN_ISBN))
    pairs.append((UNKNOWN_USER, UNKNOWN_ISBN))
    return [{"user_id": u, "isbn": i} for u, i in pairs]


def larder_online(larder, repo, row):
    """`larder online` of model_v4 for one row: {name: (value, status)} in order."""
    out = run([larder, "-c", repo, "online", "--feature-service", "model_v4",
               "--entity", "user_id=%d" % row["user_id"], "--entity", "isbn=" + row["isbn"]])
    doc = json.loads(out)
    names = doc["metadata"]["feature_names"]
    assert len(names) == len(doc["results"]), doc
    got = {}
    for name, result in zip(names, doc["results"]):
        assert len(result["values"]) == 1 and len(result["statuses"]) == 1, result
        got[name] = (result["values"][0], result["statuses"][0])
    assert list(got) == names, names  # no duplicate names
    return got


class Server:
    """`larder serve --port 0`, its address read from the line it prints."""

    def __init__(self, larder, repo, workdir):
        self.out_path = os.path.join(workdir, "serve.out")
        self.err_path = os.path.join(workdir, "serve.err")
        self.proc = subprocess.Popen(
            [larder, "serve", "-c", repo, "--port", "0", "--workers", "2"],
            stdout=open(self.out_path, "w"), stderr=open(self.err_path, "w"),
            stdin=subprocess.DEVNULL)
        self.url = None
        deadline = time.monotonic() + 20
        while self.url is None:
            if self.proc.poll() is not None:
                raise AssertionError("larder serve exited with %d:\n%s"
                                     % (self.proc.returncode, self.output()))
            if time.monotonic() > deadline:
                raise AssertionError("larder serve printed no address in 20 s:\n"
                                     + self.output())
            with open(self.out_path) as f:
                for line in f:
                    if line.startswith("Serving ") and " on http://" in line:
                        self.url = line.split(" on ", 1)[1].split()[0]
            time.sleep(0.05)

    def output(self):
        text = ""
        for p in (self.out_path, self.err_path):
            with open(p) as f:
                text += f.read()
        return text

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def set_up_feast_repo(feast_repo, url, larder_repo, source_dir):
    os.makedirs(os.path.join(feast_repo, "data"))
    shutil.copy(os.path.join(source_dir, "examples", "book_recs", "feast", "book_recs.py"),
                feast_repo)
    with open(os.path.join(HERE, "feature_repo", "feature_store.yaml.in")) as f:
        text = f.read().replace("@SERVER_URL@", url)
    with open(os.path.join(feast_repo, "feature_store.yaml"), "w") as f:
        f.write(text)
    feast_cli = os.path.join(os.path.dirname(sys.executable), "feast")
    log(run([feast_cli, "apply"], cwd=feast_repo,
            env=dict(os.environ, LARDER_REPO=larder_repo)).rstrip())


def same_value(name, feast_value, larder_value):
    if isinstance(larder_value, float) and isinstance(feast_value, float):
        return feast_value == larder_value or math.isclose(feast_value, larder_value,
                                                           rel_tol=0, abs_tol=1e-12)
    return type(feast_value) is type(larder_value) and feast_value == larder_value


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--larder", required=True, help="the larder binary")
    ap.add_argument("--source-dir", required=True, help="the Larder source tree")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()
    larder = os.path.abspath(args.larder)
    assert os.access(larder, os.X_OK), "not an executable: " + larder
    assert os.path.isdir(os.path.join(args.source_dir, "examples", "book_recs")), args.source_dir

    import feast
    assert feast.__version__ == FEAST_VERSION, \
        "feast %s, expected %s: run scripts/feast_venv.sh" % (feast.__version__, FEAST_VERSION)
    from feast import FeatureStore
    from feast.protos.feast.serving.ServingService_pb2 import FieldStatus
    from feast.types import Float64, Int64, String

    started = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="larder_feast_client_")
    server = None
    try:
        repo = os.path.join(tmp, "repo")
        now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        set_up_larder_repo(larder, repo, now)
        rows = entity_rows(repo)
        # `larder online` first: the server holds the RocksDB store while it runs.
        expected = [larder_online(larder, repo, row) for row in rows]
        log("larder online read %d rows" % len(rows))

        server = Server(larder, repo, tmp)
        log("larder serve at " + server.url)
        feast_repo = os.path.join(tmp, "feast_repo")
        set_up_feast_repo(feast_repo, server.url, repo, args.source_dir)

        store = FeatureStore(repo_path=feast_repo)
        service = store.get_feature_service("model_v4")
        response = store.get_online_features(features=service, entity_rows=rows)
        got = response.to_dict()
        names = list(response.proto.metadata.feature_names.val)

        # Names and their order: the join keys, then model_v4's features.
        assert names == list(expected[0]), (names, list(expected[0]))
        assert list(got) == names, (list(got), names)
        dtypes = {"user_id": Int64, "isbn": String}
        for projection in service.feature_view_projections:
            for field in projection.features:
                dtypes[field.name] = field.dtype
        assert set(dtypes) == set(names), (sorted(dtypes), names)

        present = {name: 0 for name in names}
        for i, (row, want) in enumerate(zip(rows, expected)):
            for j, name in enumerate(names):
                value, status = want[name]
                feast_value = got[name][i]
                feast_status = FieldStatus.Name(response.proto.results[j].statuses[i])
                where = "row %d %s, %s" % (i, row, name)
                assert feast_status == status, "%s: Feast status %s, larder online %s" % (
                    where, feast_status, status)
                assert same_value(name, feast_value, value), \
                    "%s: Feast %r (%s), larder online %r (%s)" % (
                        where, feast_value, type(feast_value).__name__, value,
                        type(value).__name__)
                if value is None:
                    assert status != "PRESENT", where
                    continue
                present[name] += 1
                want_type = {Int64: int, Float64: float, String: str}[dtypes[name]]
                assert type(feast_value) is want_type, "%s: %r is not %s" % (
                    where, feast_value, want_type.__name__)

        # The comparison is not vacuous: every kind of value came through.
        unknown_user = rows.index({"user_id": UNKNOWN_USER, "isbn": rows[0]["isbn"]})
        unknown_isbn = rows.index({"user_id": rows[1]["user_id"], "isbn": UNKNOWN_ISBN})
        assert expected[unknown_user]["country"] == (None, "NOT_FOUND"), expected[unknown_user]
        assert expected[unknown_isbn]["category"] == (None, "NOT_FOUND"), expected[unknown_isbn]
        for name in ("language", "category", "avg_yr_book_rating", "count_yr_book_rating",
                     "avg_yr_user_rating", "avg_day_user_rating", "count_day_user_rating",
                     "avg_week_user_rating"):
            assert present[name] >= 3, "only %d PRESENT values of %s: %s" % (
                present[name], name, present)
        for i, row in enumerate(rows):
            if row["user_id"] in EXPECTED_DAY:
                avg, count = EXPECTED_DAY[row["user_id"]]
                assert math.isclose(got["avg_day_user_rating"][i], avg, rel_tol=1e-12), \
                    (row, got["avg_day_user_rating"][i])
                assert got["count_day_user_rating"][i] == count, row
        log("Feast's get_online_features(model_v4) equals larder online for %d rows x %d "
            "names; PRESENT values by name: %s" % (len(rows), len(names), present))

        # The same features by reference, with full names: the `features` form.
        refs = ["%s:%s" % (p.name_to_use(), f.name)
                for p in service.feature_view_projections for f in p.features]
        full = store.get_online_features(features=refs, entity_rows=rows,
                                         full_feature_names=True).to_dict()
        for p in service.feature_view_projections:
            for f in p.features:
                assert full[p.name_to_use() + "__" + f.name] == got[f.name], (p.name, f.name)
        log("the same by feature reference with full_feature_names")
    finally:
        if server is not None:
            server.stop()
            if server.proc.returncode not in (0, -signal.SIGTERM):
                log("larder serve exited with %d:\n%s" % (server.proc.returncode, server.output()))
        if args.keep:
            log("kept " + tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    log("PASS in %.1f s" % (time.monotonic() - started))


if __name__ == "__main__":
    main()
