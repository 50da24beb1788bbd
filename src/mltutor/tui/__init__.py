"""tui part of mltutor (see DEVELOPERS.md)."""
