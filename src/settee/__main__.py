"""``python -m settee``: the settee command."""

import sys

from settee.cli.commands import main

sys.exit(main())
