"""evals part of mltutor (see DEVELOPERS.md)."""
