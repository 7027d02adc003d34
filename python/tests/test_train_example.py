"""examples/book_recs/train.py, run as the README says, on a small repo of its own
(data ending today, as `larder demo-data` makes it by default)."""

import os
import subprocess
import sys

from conftest import larder_binary

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "book_recs", "train.py")


def test_train_example_prints_rmse_per_version_and_a_prediction(tmp_path):
    binary = larder_binary()
    repo = str(tmp_path / "repo")
    subprocess.run([binary, "init", repo, "--template", "book_recs"], check=True,
                   capture_output=True)
    for step in (["demo-data", "--scale", "0.01"], ["apply"], ["run"],
                 ["materialize", "1900-01-01", "2100-01-01"]):
        r = subprocess.run([binary, "-c", repo, *step], capture_output=True, text=True)
        assert r.returncode == 0, f"{step}: {r.stderr}"
    plot = str(tmp_path / "rmse.png")
    r = subprocess.run([sys.executable, EXAMPLE, "--repo", repo, "--plot", plot],
                       capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    rows = [line.split() for line in lines if line.startswith("model_v")]
    assert [row[0] for row in rows] == ["model_v1", "model_v2", "model_v3", "model_v4"], r.stdout
    # features per version grow as the services do (4, 6, 8, 13 in the example).
    assert [int(row[1]) for row in rows] == [4, 6, 8, 13], r.stdout
    for row in rows:
        assert 0 < float(row[4]) < 10, row  # ratings are 0..10
    with open(plot, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    # The prediction comes from online features that are all present: the
    # data ends today (demo-data's default), so the ttl holds against the clock.
    at = next(i for i, line in enumerate(lines) if line.startswith("Online features of model_v4 for "))
    header, values = lines[at + 1].split(), lines[at + 2].split()
    assert "country" in header and "avg_yr_user_rating" in header, r.stdout
    assert "avg_week_user_rating" in header, r.stdout
    # Every value is present, but for a mean over a window without a rating
    # of the user (late in the UTC day the data, which ends at the start of
    # today, leaves the day's window before now nearly empty).
    nulls = [line.split(": ", 1)[1].split(", ") for line in lines
             if line.startswith("Null, no rating in the window: ")]
    if nulls:
        assert set(nulls[0]) <= {"avg_day_user_rating", "avg_week_user_rating"}, r.stdout
    else:
        assert not {"None", "NaN", "nan", "<NA>"} & set(values), r.stdout
    predicted = [line for line in lines if line.startswith("Predicted rating: ")]
    assert len(predicted) == 1, r.stdout
    assert 0 <= float(predicted[0].split(": ")[1]) <= 10, r.stdout
