"""``python -m cli ...`` runs the ``aidchain`` command line."""

import sys

from cli.main import main

sys.exit(main())
