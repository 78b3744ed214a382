"""Evaluation on top of the model: cross-validation protocols and baseline, several data sets,
the ablation of the additions, and the reproduction of the paper's tables (:mod:`dlfers.evaluation.reproduce`)."""
