"""The model registry's stage library: model bundles, serving forms and the one scorer.

* ``bundle``: what is stored for a model version (the pickled pipeline plus the facts it
  needs to answer) and its digest-verified loading; the serving form's dump and load (the
  forms themselves, numpy only, are in ``steadyml.forms``).
* ``scoring``: one scorer (predictions, scores, class probabilities, the decision
  threshold) used by the API, batch scoring and monitoring.

Importing this package is cheap: scikit-learn loads only when a pipeline is used.
"""

from steadyml.registry.bundle import (
    ModelBundle,
    dump_bundle,
    dump_serving_form,
    load_bundle,
    load_serving_form,
)

__all__ = [
    "ModelBundle",
    "dump_bundle",
    "dump_serving_form",
    "load_bundle",
    "load_serving_form",
]
