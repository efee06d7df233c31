"""``python -m steadyml`` runs the command line."""

from steadyml.cli.app import main

if __name__ == "__main__":
    main()
