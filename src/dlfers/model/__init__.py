"""The learned model: configuration (:class:`~dlfers.model.spec.Spec`, presets), the stages as
functions of it, codebooks, SVMs and their fusion, the :class:`~dlfers.model.estimator.DLFERS`
estimator that composes them, its exact per-region evidence, its state and its file format."""
