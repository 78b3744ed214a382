"""One module per ``dlfers`` sub-command; see :mod:`dlfers.cli`."""
