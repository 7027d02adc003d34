#!/usr/bin/env python3
"""Hostile-client probes of `larder serve` and the CLI, with the server's peak memory.

Each probe starts a fresh `larder serve` on an example repo, applies one kind of
abuse, checks that the server still answers /health quickly, and reports the
server's peak RSS (the kernel's VmHWM) under that load. The SQL and teardown
probes check that no store changes.

    python3 bench/probes/hostile_probes.py [--larder build/larder] [--work /tmp/larder_probes]

Exit status 1 when any probe's expectation fails; the table is printed either way.
"""

import argparse
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

RESULTS = []


def log(msg):
    print(msg, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_status(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


class Server:
    def __init__(self, larder, repo, nofile=None, extra=()):
        self.port = free_port()
        limit = None
        if nofile:
            limit = lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
        self.log = open(os.path.join(repo, "serve.log"), "ab")
        self.proc = subprocess.Popen(
            [larder, "-c", repo, "serve", "--port", str(self.port), "--workers", "2", *extra],
            stdout=self.log, stderr=self.log, preexec_fn=limit)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.health(timeout=0.5) is not None:
                return
            time.sleep(0.1)
        raise RuntimeError("larder serve did not start; see %s/serve.log" % repo)

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def health(self, timeout=2.0):
        """Seconds /health took, or None when it did not answer in time."""
        start = time.time()
        try:
            with urllib.request.urlopen(self.url("/health"), timeout=timeout) as r:
                r.read()
            return time.time() - start
        except Exception:
            return None

    def post(self, path, body, timeout=60):
        req = urllib.request.Request(self.url(path), data=body,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()
        except Exception as e:  # connection refused or reset
            return None, str(e).encode()

    def peak_rss(self):
        return proc_status(self.proc.pid, "VmHWM")

    def rss(self):
        return proc_status(self.proc.pid, "VmRSS")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def record(probe, ok, peak, detail):
    RESULTS.append((probe, ok, peak, detail))
    log("  %s %s: peak RSS %.0f MiB; %s" % ("ok  " if ok else "FAIL", probe, peak / 2**20, detail))


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def prepare_repo(larder, work):
    repo = os.path.join(work, "repo")
    if os.path.exists(repo):
        shutil.rmtree(repo)
    steps = [["init", repo, "--template", "book_recs"], ["-c", repo, "demo-data", "--scale", "0.01"],
             ["-c", repo, "apply"], ["-c", repo, "run"], ["-c", repo, "materialize-incremental",
                                                          time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())]]
    for step in steps:
        r = run([larder, *step])
        if r.returncode != 0:
            raise RuntimeError("larder %s failed:\n%s%s" % (" ".join(step), r.stdout, r.stderr))
    return repo


def probe_malformed(larder, repo):
    bodies = [b"", b"{", b"[]", b"null", b'{"features": 1}', b'{"features": ["a"], "entities": []}',
              b'{"features": ["user_features:country"], "entities": {"user_id": [1], "user_id": [2]}}',
              b'{"feature_service": "model_v4", "entities": {"user_id": [[[[[[[[[[1]]]]]]]]]]}}',
              b"\xff\xfe\x00garbage", b'{"features": ["' + b"x" * 100000 + b'"], "entities": {}}',
              b"[" * 100000]
    srv = Server(larder, repo)
    try:
        statuses = [srv.post("/get-online-features", b)[0] for b in bodies]
        statuses += [srv.post("/push", b)[0] for b in bodies]
        all_4xx = all(s is not None and 400 <= s < 500 for s in statuses)
        h = srv.health()
        record("malformed bodies", all_4xx and h is not None, srv.peak_rss(),
               "statuses %s; /health %s" % (sorted(set(statuses), key=str), _fmt_s(h)))
    finally:
        srv.stop()


def _fmt_s(seconds):
    return "no answer" if seconds is None else "%.0f ms" % (seconds * 1000)


def _raw_post(port, body, results, index):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=120) as s:
            head = ("POST /get-online-features HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    "Content-Length: %d\r\n\r\n" % len(body)).encode()
            try:
                s.sendall(head)
                view = memoryview(body)
                for off in range(0, len(body), 1 << 20):
                    s.sendall(view[off:off + (1 << 20)])
            except OSError:
                pass  # the server may answer and close before the whole body is sent
            line = s.makefile("rb").readline()
            results[index] = int(line.split()[1]) if line else None
    except Exception:
        results[index] = None


def probe_big_bodies(larder, repo, connections=40, size=16_000_000):
    item = b"{},"
    n = (size - 128) // len(item)
    body = b'{"features": ["user_features:country"], "entities": {"user_id": [' + item * (n - 1) + b"{}]}}"
    assert len(body) <= size
    srv = Server(larder, repo)
    try:
        base = srv.rss()
        results = [None] * connections
        threads = [threading.Thread(target=_raw_post, args=(srv.port, body, results, i))
                   for i in range(connections)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        h = srv.health()
        ok = all(r is not None and 400 <= r < 600 for r in results) and h is not None
        record("%d concurrent %d MB bodies" % (connections, size // 1000000), ok, srv.peak_rss(),
               "idle RSS %.0f MiB; statuses %s; /health after %s; RSS after %.0f MiB" % (
                   base / 2**20, sorted(set(results), key=str), _fmt_s(h), srv.rss() / 2**20))
    finally:
        srv.stop()


def probe_idle_connections(larder, repo, nofile=1024, connections=2000):
    srv = Server(larder, repo, nofile=nofile)
    socks = []
    try:
        for _ in range(connections):
            try:
                socks.append(socket.create_connection(("127.0.0.1", srv.port), timeout=2))
            except OSError:
                break
        time.sleep(0.5)
        cpu0, t0 = cpu_seconds(srv.proc.pid), time.time()
        h = srv.health(timeout=5)
        time.sleep(2)
        cpu_share = (cpu_seconds(srv.proc.pid) - cpu0) / (time.time() - t0)
        metrics = ""
        try:
            with urllib.request.urlopen(srv.url("/metrics"), timeout=5) as r:
                metrics = r.read().decode()
        except Exception:
            pass
        refused = [l for l in metrics.splitlines() if "refus" in l and not l.startswith("#")]
        ok = h is not None and h < 1.0 and cpu_share < 0.2
        record("%d idle connections, ulimit -n %d" % (len(socks), nofile), ok, srv.peak_rss(),
               "/health %s; server CPU %.0f%% of a core while idle; %s" % (
                   _fmt_s(h), cpu_share * 100, "; ".join(refused) or "no refusal counter in /metrics"))
    finally:
        for s in socks:
            s.close()
        srv.stop()


def probe_plan_cache(larder, repo, requests=60, refs=400000):
    srv = Server(larder, repo)
    try:
        statuses = set()
        for i in range(requests):
            feats = ["user_features:country"] * refs
            feats[i % refs] = "book_features:language"
            body = json.dumps({"features": feats, "entities": {"user_id": [1], "isbn": ["x"]}}).encode()
            statuses.add(srv.post("/get-online-features", body)[0])
        h = srv.health()
        # The server must not keep what the requests cost: after them, within 256 MiB.
        record("%d requests of %d repeated features" % (requests, refs),
               h is not None and srv.rss() < 256 * 2**20, srv.peak_rss(),
               "statuses %s; RSS after %.0f MiB" % (sorted(statuses, key=str), srv.rss() / 2**20))
    finally:
        srv.stop()


def probe_sql_escapes(larder, repo):
    marker = os.path.join(os.path.dirname(repo), "escaped.csv")
    if os.path.exists(marker):
        os.remove(marker)
    offline = os.path.join(repo, "data", "offline_store.duckdb")
    attempts = [
        "SELECT 1 AS user_id, TIMESTAMP '2022-01-01' AS event_timestamp); DROP TABLE bucketed_age; SELECT (1",
        "SELECT 1 AS user_id, TIMESTAMP '2022-01-01' AS event_timestamp); COPY (SELECT 42) TO '%s'; SELECT (1" % marker,
        "SELECT 1 AS user_id, TIMESTAMP '2022-01-01' AS event_timestamp); DETACH o; ATTACH '%s' AS o2; "
        "DROP TABLE o2.bucketed_age; SELECT (1" % offline,
        "SELECT 1 AS user_id, TIMESTAMP '2022-01-01' AS event_timestamp --",
        "DROP TABLE bucketed_age",
        "COPY (SELECT 42) TO '%s'" % marker,
        "SELECT 1 AS user_id, TIMESTAMP '2022-01-01' AS event_timestamp; DROP TABLE bucketed_age",
        "ATTACH '%s' AS o2" % offline,
    ]
    failures = []
    for sql in attempts:
        r = run([larder, "-c", repo, "historical", "--entity-sql", sql,
                 "--features", "user_age_features:bucketed_age",
                 "--output", os.path.join(os.path.dirname(repo), "out.csv")])
        if sql.endswith("--") and r.returncode == 0:
            continue  # a valid single SELECT with a trailing comment may be accepted
        if r.returncode == 0:
            failures.append("accepted: " + sql[:60])
    check = run([larder, "-c", repo, "historical", "--entity-sql",
                 "SELECT 1 AS user_id, TIMESTAMP '2022-01-01' AS event_timestamp",
                 "--features", "user_age_features:bucketed_age",
                 "--output", os.path.join(os.path.dirname(repo), "out.csv")])
    if check.returncode != 0:
        failures.append("the model table is gone: " + check.stderr.strip()[:200])
    if os.path.exists(marker):
        failures.append("a file was written")
    record("SQL escape attempts (%d)" % len(attempts), not failures, 0,
           "; ".join(failures) or "all refused; model table intact; no file written")


def probe_teardown_during_serve(larder, repo):
    srv = Server(larder, repo)
    try:
        body = json.dumps({"features": ["user_features:country"], "entities": {"user_id": [1]}}).encode()
        before = srv.post("/get-online-features", body)
        r = run([larder, "-c", repo, "teardown"])
        listed = run([larder, "-c", repo, "feature-views", "list"])
        still = srv.post("/get-online-features", body)
        ok = r.returncode != 0 and "user_features" in listed.stdout and still[0] == 200
        record("teardown during serve", ok, srv.peak_rss(),
               "teardown exit %d (%s); registry intact: %s; server still serving: %s" % (
                   r.returncode, (r.stderr or r.stdout).strip().splitlines()[-1][:120] if (r.stderr or r.stdout).strip() else "",
                   "user_features" in listed.stdout, still[0] == 200 and still[1] == before[1]))
    finally:
        srv.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--larder", default=os.path.join(os.path.dirname(__file__), "..", "..", "build", "larder"))
    ap.add_argument("--work", default="/tmp/larder_probes")
    args = ap.parse_args()
    larder = os.path.abspath(args.larder)
    os.makedirs(args.work, exist_ok=True)
    log("preparing an example repo in %s" % args.work)
    repo = prepare_repo(larder, args.work)
    for probe in (probe_malformed, probe_big_bodies, probe_idle_connections, probe_plan_cache,
                  probe_sql_escapes, probe_teardown_during_serve):
        log("probe: " + probe.__name__)
        try:
            probe(larder, repo)
        except Exception as e:  # a probe that cannot run is a failure, not a skip
            record(probe.__name__, False, 0, "error: %s" % e)
    log("\n| probe | result | server peak RSS | detail |\n|---|---|---|---|")
    for name, ok, peak, detail in RESULTS:
        log("| %s | %s | %s | %s |" % (name, "ok" if ok else "FAIL",
                                       "%.0f MiB" % (peak / 2**20) if peak else "-", detail))
    sys.exit(0 if all(ok for _, ok, _, _ in RESULTS) else 1)


if __name__ == "__main__":
    main()
