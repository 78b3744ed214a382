"""``dlfers reproduce``: the paper's JAFFE experiments, their cross-validation engine and report."""
