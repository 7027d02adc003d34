"""Fixtures: one small book_recs repo per test session, made with the `larder` binary.

LARDER_BINARY names the binary (ctest sets it); otherwise `larder` on the PATH.
The repo is the usual test setup (tests/support/serve_fixture.cc): init from the
book_recs template, demo data at scale 0.01, apply, run the SQL models. One plain
view is added, `user_scores` (a Float64 `score` per user) fed by the push source
`scores_push`: the example's pushed ratings feed aggregation views, and the tests
of plain pushed values (newest wins, floats as stored) need a plain view.
"""

import json
import os
import shutil
import subprocess

import pytest


def larder_binary() -> str:
    binary = os.environ.get("LARDER_BINARY") or shutil.which("larder")
    if not binary:
        pytest.skip("no larder binary: set LARDER_BINARY")
    return binary


class Cli:
    def __init__(self, repo: str):
        self.repo = repo
        self.binary = larder_binary()

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        r = subprocess.run([self.binary, "-c", self.repo, *args], capture_output=True, text=True)
        if check and r.returncode != 0:
            raise AssertionError(f"larder {' '.join(args)} failed ({r.returncode}): {r.stderr}")
        return r

    def online(self, features_flag: list, entity: dict) -> dict:
        args = ["online", *features_flag]
        for k, v in entity.items():
            args += ["--entity", f"{k}={v}"]
        return json.loads(self.run(*args).stdout)


@pytest.fixture(scope="session")
def repo(tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp("sdk")
    path = str(root / "repo")
    binary = larder_binary()
    subprocess.run([binary, "init", path, "--template", "book_recs"], check=True,
                   capture_output=True)
    history = os.path.join(path, "data", "scores.csv")
    os.makedirs(os.path.dirname(history), exist_ok=True)
    with open(history, "w") as f:
        f.write("user_id,score_timestamp,score\n1,2022-01-01T00:00:00Z,0.5\n")
    with open(os.path.join(path, "scores.yaml"), "w") as f:
        f.write("data_sources:\n"
                "  - {name: scores_source, type: file, path: data/scores.csv,"
                " timestamp_field: score_timestamp}\n"
                "  - {name: scores_push, type: push, batch_source: scores_source}\n"
                "feature_views:\n"
                "  - {name: user_scores, entities: [user], source: scores_push,\n"
                "     schema: [{name: score, dtype: Float64}]}\n")
    for step in (["demo-data", "--scale", "0.01", "--end", "2023-01-01T00:00:00Z"], ["apply"],
                 ["run"]):
        r = subprocess.run([binary, "-c", path, *step], capture_output=True, text=True)
        assert r.returncode == 0, f"{step}: {r.stderr}"
    return path


@pytest.fixture(scope="session")
def cli(repo) -> Cli:
    return Cli(repo)


@pytest.fixture(scope="session")
def store(repo):
    from larder import FeatureStore

    return FeatureStore(repo_path=repo)
