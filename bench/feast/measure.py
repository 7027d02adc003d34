"""Measuring processes for bench/feast: wall time, peak memory, limits, wrk.

Every figure of the benchmark is a process (or a server under load) run
from here, Feast's and Larder's alike, so both are measured the same way:
- wall time from start to exit;
- peak RSS of the whole process tree, sampled every 50 ms, and the kernel's
  own maximum for the process (GNU time's %M, which a short peak cannot
  escape); the larger of the two is reported. (The kernel's figure is taken
  through /usr/bin/time because a child forked from this Python process
  would count the parent's pages it started with.)
- a time limit and a memory limit: a process tree past either is killed, and
  the result says which limit it hit, with the limit's value.
"""

import os
import re
import signal
import statistics
import subprocess
import tempfile
import threading
import time

PAGE = os.sysconf("SC_PAGE_SIZE")


def _children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def tree_rss(pid):
    """Resident bytes of pid and all its descendants, from /proc."""
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        try:
            with open("/proc/%d/statm" % p) as f:
                total += int(f.read().split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            continue
        stack.extend(_children(p))
    return total


class Outcome:
    """One process run: status is ok, failed, timeout or memory."""

    def __init__(self, status, seconds, peak_rss, stdout="", stderr="", limit=None):
        self.status, self.seconds, self.peak_rss = status, seconds, peak_rss
        self.stdout, self.stderr, self.limit = stdout, stderr, limit

    @property
    def ok(self):
        return self.status == "ok"

    def describe(self):
        if self.status == "timeout":
            return "did not finish within %d s" % self.limit
        if self.status == "memory":
            return "killed at the %.1f GiB memory limit after %.0f s" % (self.limit / 2**30,
                                                                         self.seconds)
        if self.status == "failed":
            return "failed: " + (self.stderr.strip().splitlines() or ["(no output)"])[-1][:200]
        return "%.2f s" % self.seconds


class Sampler:
    """Samples a process tree's RSS in a thread; enforces a memory limit."""

    def __init__(self, proc, mem_limit=None, interval=0.05):
        self.proc, self.mem_limit, self.interval = proc, mem_limit, interval
        self.peak, self.over = 0, False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            rss = tree_rss(self.proc.pid)
            self.peak = max(self.peak, rss)
            if self.mem_limit and rss > self.mem_limit:
                self.over = True
                kill_tree(self.proc)
                return
            self._stop.wait(self.interval)

    def stop(self):
        self._stop.set()
        self._thread.join()
        return self.peak


def kill_tree(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def run(cmd, cwd=None, env=None, timeout=None, mem_limit=None):
    """Runs cmd in its own process group; returns an Outcome."""
    with tempfile.NamedTemporaryFile("r", prefix="bench_rss_") as rss_file:
        start = time.monotonic()
        proc = subprocess.Popen(["/usr/bin/time", "-f", "%M", "-o", rss_file.name] + cmd,
                                cwd=cwd, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)
        sampler = Sampler(proc, mem_limit)
        timer = threading.Timer(timeout, kill_tree, [proc]) if timeout else None
        if timer:
            timer.start()
        stdout, stderr = proc.communicate()
        seconds = time.monotonic() - start
        if timer:
            timer.cancel()
        lines = rss_file.read().split()
        kernel_peak = int(lines[-1]) * 1024 if lines and lines[-1].isdigit() else 0
    peak = max(sampler.stop(), kernel_peak)
    if sampler.over:
        return Outcome("memory", seconds, peak, stdout, stderr, mem_limit)
    if timeout and seconds >= timeout and proc.returncode != 0:
        return Outcome("timeout", seconds, peak, stdout, stderr, timeout)
    if proc.returncode != 0:
        return Outcome("failed", seconds, peak, stdout, stderr)
    return Outcome("ok", seconds, peak, stdout, stderr)


class Server:
    """A server process (feast serve, larder serve, redis-server) on loopback."""

    def __init__(self, cmd, log_path, cwd=None, env=None):
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        self.sampler = Sampler(self.proc, interval=0.2)

    def wait_ready(self, probe, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited with %d; see %s"
                                   % (self.proc.returncode, self.log.name))
            if probe():
                return
            time.sleep(0.2)
        raise RuntimeError("server not ready after %d s; see %s" % (timeout, self.log.name))

    def stop(self):
        """Stops the server (SIGTERM, then SIGKILL); returns its peak tree RSS."""
        peak = self.sampler.stop()
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                kill_tree(self.proc)
                self.proc.wait()
            except ProcessLookupError:
                pass
        self.log.close()
        return peak


_UNIT = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def _ms(text):
    m = re.match(r"([\d.]+)(us|ms|s)$", text)
    return float(m.group(1)) * _UNIT[m.group(2)]


def wrk(url, script, seconds, env, connections=64, threads=2):
    """Runs wrk with a Lua script; returns {rps (2xx answers only), p50_ms, p99_ms,
    requests, non2xx, socket_errors}."""
    out = subprocess.run(["wrk", "-t%d" % threads, "-c%d" % connections, "-d%ds" % seconds,
                          "--latency", "-s", script, url],
                         env=dict(os.environ, **env), text=True, capture_output=True,
                         timeout=seconds + 60)
    if out.returncode != 0:
        raise RuntimeError("wrk failed: " + out.stderr)
    text = out.stdout
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)),
              "p50_ms": _ms(re.search(r"\s50%\s+(\S+)", text).group(1)),
              "p99_ms": _ms(re.search(r"\s99%\s+(\S+)", text).group(1)),
              "requests": int(re.search(r"(\d+) requests in", text).group(1))}
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    result["non2xx"] = int(non2xx.group(1)) if non2xx else 0
    result["socket_errors"] = sum(int(g) for g in sock.groups()) if sock else 0
    # Throughput counts answered requests with a 2xx status only.
    answered = result["requests"]
    result["rps"] *= (answered - result["non2xx"]) / answered if answered else 0
    return result


def summary(values):
    """Median and spread (min, max) of a list of numbers."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "n": len(values)}
