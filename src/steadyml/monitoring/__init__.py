"""Monitoring: watch a served model, raise alerts and deliver them."""
