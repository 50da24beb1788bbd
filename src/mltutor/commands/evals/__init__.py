"""``mltutor eval``: list the bundled suites, run and score one, report a run (or two, paired), ablate.

Exit codes: 0 done; 1 done but some cases ended in an error (they are recorded and reported, not
scored); 2 bad input (a suite line, a flag, a missing run); 130 interrupted (resume with --resume).

The sub-package: :mod:`~.parser` (the flags), :mod:`~.show` (list, report), :mod:`~.run` (run,
ablate, rescore), :mod:`~.common` (what they share).
"""

from __future__ import annotations

from mltutor.commands.evals.common import DEFAULT_OUT
from mltutor.commands.evals.parser import register

__all__ = ["DEFAULT_OUT", "register"]
