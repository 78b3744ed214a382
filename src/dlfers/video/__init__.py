"""Video: frame sources, face tracks, per-track expressions, and the files a video analysis writes."""
