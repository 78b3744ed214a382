"""Shared plumbing of every stage: checked file reads and atomic writes, the output guard, parallel
execution, thread limits, progress bars and plotting set-up.  Imports no other part of dlfers."""
