"""``python -m rnnbench``: the same command line as ``rnnbench``."""

import sys

from rnnbench.cli import main

sys.exit(main())
