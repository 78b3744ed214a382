"""Images in: reading a file (format sniffed from its header, bombs refused), converting an array to
2-D uint8 gray, and validating it.  The first stage of image -> face -> features -> model."""
