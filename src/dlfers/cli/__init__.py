"""The ``dlfers`` command line: :mod:`dlfers.cli.main` dispatches to one module per sub-command."""
