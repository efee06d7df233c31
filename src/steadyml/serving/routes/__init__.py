"""The routes of the prediction API, one module per concern, each an ``APIRouter``.

A route reads the request, calls one method of the app's ``PredictionService``
(``dependencies.py`` gets it from ``request.app.state``, after checking the API key where
the route needs one) and shapes the answer. ``app.py`` includes the routers:

- ``predict.py``: ``POST /v1/predict`` (its body model is generated from the contract);
- ``feedback.py``: ``POST /v1/feedback``;
- ``info.py``: ``GET /v1/model``, ``/v1/model/card``, ``/health``, ``/ready``, ``/metrics``
  and ``/docs``.
"""
