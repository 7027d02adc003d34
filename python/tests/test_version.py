"""The package's version is liblarder's, from the file VERSION (the one place it is written)."""

import os

import larder

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


def test_version_is_the_version_file():
    with open(os.path.join(ROOT, "VERSION")) as f:
        assert larder.__version__ == f.read().strip()
    assert larder.__version__ == larder._larder.__version__
