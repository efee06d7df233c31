"""The dashboard (``steadyml ui``, and ``steadyml serve --ui`` at ``/ui``): server-rendered
pages over ``Project``, Plotly served locally, actions for a signed-in admin key."""

from __future__ import annotations

from steadyml.serving.ui.app import create_ui_app

__all__ = ["create_ui_app"]
