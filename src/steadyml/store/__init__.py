"""The metadata store: every step of the lifecycle leaves a record here.

Only this package imports SQLAlchemy. Repositories return plain entities from
``steadyml.entities``, never ORM rows.
"""

from steadyml.store.db import Store, open_store

__all__ = ["Store", "open_store"]
