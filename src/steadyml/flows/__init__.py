"""The use cases: the lifecycle's verbs, one module each.

| module    | the course's step        | use cases                                              |
|-----------|--------------------------|--------------------------------------------------------|
| plan      | 6. a first plan          | init from a sample project or from the user's data     |
| data      | 2. the parts             | load, check (contract, quality, leakage), snapshot     |
| train     | 3. repeatable workflow   | train and register, record an outcome, compare runs    |
| release   | 4. deployment            | promote, rollback, traffic, API keys, serving forms    |
| card      | 5. transparency          | the model card                                         |
| batch     | 4. deployment            | score a file with the production model                 |
| monitor   | 5. monitoring            | labels, monitor + alerts, acknowledge, retention       |

Each function takes what it needs explicitly (the configuration, the project folder, the
metadata store, the artifact store) and never imports or receives ``Project``: the facade
(``steadyml.project``), the CLI, the worker and the service call these, never the other way.
"""
