"""mltutor: a terminal tutor for the mathematics asked in machine-learning interviews.

The package is split into five parts (see DEVELOPERS.md): ``tools`` and ``knowledge`` at the bottom,
``agent`` on top of them, ``evals`` and ``tui`` on top of the agent. Nothing heavy is imported here so
that ``mltutor --help`` and ``mltutor check`` start fast.
"""

__version__ = "0.1.0"
