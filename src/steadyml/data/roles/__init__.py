"""Guess the role of every column of a table, for ``steadyml init``.

``infer_roles`` looks at each column's type, number of distinct values, missing values and
name, and returns a ``RoleGuess``: one ``ColumnGuess`` per column (in file order) with a short
reason in plain words, the kind of task the target implies, and warnings about sentinel codes
and columns that look like personal data or protected attributes. Roles the user gives always
win.

The modules, one job each: ``infer`` (the whole guess), ``guesses`` (what it returns),
``profile`` (a column's type and counts), ``given`` (the roles the user names), ``column``
(the guess for one column), ``target`` (the task), ``dates`` (text that holds dates),
``privacy`` (personal and protected columns), ``protected`` (which group a column may
describe), ``splits`` (a train/test split made beforehand), ``names`` (what a column's name
suggests),
``wording`` (how values are shown). Sentinel codes are ``steadyml.data.sentinels``, shared
with ``steadyml data check``.
"""

from steadyml.data.roles.guesses import ColumnGuess, Role, RoleGuess, Task
from steadyml.data.roles.infer import infer_roles

__all__ = ["ColumnGuess", "Role", "RoleGuess", "Task", "infer_roles"]
