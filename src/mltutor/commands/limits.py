"""Start-up shortcuts for ``mltutor check`` and ``mltutor tool run``, whose start-up is measured
against ``import sympy`` (bench/bench_startup.py): the tool limits without the full settings, and no
search for pydantic plugins.

Both commands do one computation and exit, so a few tens of milliseconds of imports are a large
part of their time; everything here avoids importing what those commands do not need.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def skip_pydantic_plugins() -> None:
    """mltutor uses no pydantic plugins; looking for them reads the metadata of every installed
    package (~20 ms of a command's start-up). A value set by the user is kept."""
    import os

    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")


def tool_limits() -> Any:
    """The ``[tools]`` settings. The full settings (pydantic-settings: ~0.1 s of imports) are
    loaded only when something could configure them: a config file or an MLTUTOR_TOOLS* variable."""
    import os

    from mltutor.tools.limits import DEFAULT_LIMITS

    configured = any(k.upper().startswith("MLTUTOR_TOOLS") for k in os.environ)
    if not configured:
        if os.environ.get("MLTUTOR_CONFIG"):
            path = Path(os.environ["MLTUTOR_CONFIG"]).expanduser()
        else:  # the rule of mltutor.settings.config_file (a test keeps the two in step)
            import platformdirs

            path = Path(platformdirs.user_config_dir("mltutor")) / "config.toml"
        try:
            configured = path.is_file()
        except OSError:
            configured = True  # let the settings loader report it
    if not configured:
        return DEFAULT_LIMITS
    from mltutor.settings import load_settings

    return load_settings().tools
