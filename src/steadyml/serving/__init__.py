"""The real-time prediction service: a FastAPI edge over the Project."""
