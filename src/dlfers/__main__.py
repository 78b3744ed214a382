"""``python -m dlfers``: the same as the ``dlfers`` command."""

import sys

from .cli import main

sys.exit(main())
