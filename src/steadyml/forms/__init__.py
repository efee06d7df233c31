"""Serving forms: a fitted model as plain arrays, scored with numpy only.

A server that holds a serving form never imports scikit-learn or scipy, so it starts in
about a second. ``linear``: a linear pipeline folded into one affine map. Each form is
checked against the pipeline it came from (to 1e-9) when it is made (``training.compiled``)
and is saved without pickle, digest-verified on load (``registry``).
"""
