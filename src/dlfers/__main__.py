"""``python -m dlfers``: the same as the ``dlfers`` command."""

import sys

from .cli.main import main

sys.exit(main())
