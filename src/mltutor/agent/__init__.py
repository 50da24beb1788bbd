"""agent part of mltutor (see DEVELOPERS.md)."""
