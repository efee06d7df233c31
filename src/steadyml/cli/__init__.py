"""The command line: a thin edge over the Project API. Only this package imports typer/rich.

Commands parse arguments, call one domain function, and render. Heavy libraries are imported
inside commands, so ``steadyml --help`` stays fast and imports no pandas or scikit-learn.
"""
