"""``python -m orchestrator``: the command line in orchestrator/cli.py."""

import sys

from orchestrator.cli import main

sys.exit(main())
