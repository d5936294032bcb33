"""Entry point of the frozen app: the same `faceswap-live` command as the pip install (the app, and every CLI command)."""

import multiprocessing

from faceswap_live.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()
    raise SystemExit(main())
