"""The command line's larger commands (``classify``, ``models``), kept out of ``cli.py`` so that
the operator commands there stay readable. Each module registers nothing itself: ``cli.py``
wires them into the typer app."""
