"""Command-line front ends beside the app: each module registers one ``mltutor`` sub-command.

Like the TUI, these consume the agent's services and events; they hold no tutoring logic.
``cli.py`` builds the parser and calls each module's ``register``.
"""
