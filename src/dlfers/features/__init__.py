"""A face's features: wavelet LL reduction, SPOF region layouts, dense TISF/TIPM descriptors, texture
channels (LBP, Gabor) and mirroring (paper Sec. 3.1-3.2).  Nothing here is learned."""
