"""Using a fitted model on files: per-face records, batches of image files, annotated frames."""
