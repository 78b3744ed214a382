"""Feature stores: streaming, resumable extraction of whole data sets into shards, and reading them back."""
