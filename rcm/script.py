"""The `rcm` script's entry point. It imports nothing but the standard library before it can
catch Ctrl-C, so that an interrupt while the CLI is still loading ends as any other does."""

from __future__ import annotations

import sys
from typing import NoReturn

INTERRUPTED = 130  # 128 + SIGINT, as shells report a command stopped by Ctrl-C


def stop_interrupted() -> NoReturn:
    """One line and exit 130: Python's own exit on Ctrl-C is a traceback."""
    sys.stderr.write("interrupted\n")
    sys.exit(INTERRUPTED)


def main() -> None:
    try:
        from rcm.cli import main as run_cli
    except KeyboardInterrupt:
        stop_interrupted()
    run_cli()
