"""The `larder` console script of the wheel: runs the `larder` command that
the wheel ships as larder/bin/larder, with the same arguments."""

from __future__ import annotations

import os
import sys


def binary() -> str:
    """The path of the `larder` executable inside this package."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "bin", "larder")


def main() -> int:
    path = binary()
    if not os.access(path, os.X_OK):
        print(f"larder: the command is not installed with this package (no {path}); "
              "install the wheel, or use build/larder in a source checkout", file=sys.stderr)
        return 127
    os.execv(path, [path, *sys.argv[1:]])
    return 127  # not reached: execv replaces the process


if __name__ == "__main__":
    sys.exit(main())
