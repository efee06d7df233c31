"""The project file, ``steadyml.yaml``: its schema, how it is read, and its small formats.

One job per module:

- ``schema``   the pydantic model of each section and ``ProjectConfig``, the whole file
- ``loading``  find, parse and validate the file; the notices it carries; env overrides
- ``messages`` a validation error as a teaching line: the field, the bad value, what is allowed
- ``times``    durations (``7d``) and times of day (``02:30``)

Everything is re-exported here, so ``from steadyml.config import ProjectConfig`` keeps working.
A wrong file gets an error that names the field path, shows the bad value and lists what is
allowed; an unknown key gets a "did you mean" hint.
"""

from __future__ import annotations

from steadyml.config.loading import (
    CONFIG_FILENAME,
    NOT_YET_USED,
    UNWRITTEN,
    LoadedConfig,
    apply_env,
    find_config,
    load_config,
    parse_config,
    resolve_url,
)
from steadyml.config.messages import explain, inner_model
from steadyml.config.schema import (
    SPLIT_TEST_VALUES,
    AlertRule,
    BatchJobConfig,
    BatchSection,
    ChannelConfig,
    ColumnRoles,
    DataSection,
    FallbackConfig,
    GatesConfig,
    ModelChoice,
    MonitoringSection,
    OwnersSection,
    ProjectConfig,
    ProjectSection,
    RetrainingSection,
    ScheduleSection,
    ServingSection,
    SplitConfig,
    StorageSection,
    SuccessMetric,
    TrafficConfig,
    TrainingSection,
)
from steadyml.config.times import parse_duration, parse_time_of_day

# The name tests/test_docs.py has always imported (it walks the schema's nested models).
_inner_model = inner_model

__all__ = [
    "CONFIG_FILENAME",
    "NOT_YET_USED",
    "SPLIT_TEST_VALUES",
    "UNWRITTEN",
    "AlertRule",
    "BatchJobConfig",
    "BatchSection",
    "ChannelConfig",
    "ColumnRoles",
    "DataSection",
    "FallbackConfig",
    "GatesConfig",
    "LoadedConfig",
    "ModelChoice",
    "MonitoringSection",
    "OwnersSection",
    "ProjectConfig",
    "ProjectSection",
    "RetrainingSection",
    "ScheduleSection",
    "ServingSection",
    "SplitConfig",
    "StorageSection",
    "SuccessMetric",
    "TrafficConfig",
    "TrainingSection",
    "apply_env",
    "explain",
    "find_config",
    "inner_model",
    "load_config",
    "parse_config",
    "parse_duration",
    "parse_time_of_day",
    "resolve_url",
]
