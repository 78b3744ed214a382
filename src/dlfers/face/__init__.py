"""Faces in an image: OpenCV's Haar cascades (evaluated by dlfers' kernels), eye alignment and the
paper's δ/γ crop (Sec. 3.1, Eq. 1-4)."""
