"""``python -m bench`` is the same as the ``bioel-bench`` command."""

import sys

from bench.cli import main

sys.exit(main())
