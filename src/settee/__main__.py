"""``python -m settee``: the settee command."""

import sys

from .cli import main

sys.exit(main())
