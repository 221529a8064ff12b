"""``python -m bench.report report|errors ...``."""

import sys

from bench.report.cli import main

sys.exit(main())
