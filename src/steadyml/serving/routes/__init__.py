"""The routes of the prediction API, one module per concern.

A route reads the request, calls one method of the app's ``PredictionService``
(``dependencies.py`` gets it from ``request.app.state``, after checking the API key where
the route needs one) and shapes the answer. The endpoints are module-level functions; each
module's ``add_routes(app)`` registers them on the app itself rather than through an
``APIRouter`` and ``include_router``: FastAPI (0.165) dispatches an included router's routes
through an extra matching layer on every request (about 80 more Python calls per prediction,
measured), and the predict path is benchmarked. ``app.py`` calls, in this order (the hot
route is matched first):

- ``predict.py``: ``POST /v1/predict`` (its body model is generated from the contract);
- ``feedback.py``: ``POST /v1/feedback``;
- ``info.py``: ``GET /v1/model``, ``/v1/model/card``, ``/health``, ``/ready``, ``/metrics``
  and ``/docs``.
"""
