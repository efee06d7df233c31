"""Serving forms: a fitted model as plain arrays, scored with numpy only.

A server that holds a serving form never imports scikit-learn or scipy, so it starts in
about a second. Every family steadyml trains has one: ``linear`` (a linear pipeline folded
into one affine map, text columns included through ``text``, tf-idf replayed bit for bit)
and ``trees`` (a random forest or histogram gradient boosting as flat node arrays).
``columns`` is the pipeline's first step they share, ``serving`` the file a server loads.
Each form is checked against the pipeline it came from (to 1e-9) when it is made
(``training.compiled``) and is saved without pickle, digest-verified on load (``registry``).
"""
