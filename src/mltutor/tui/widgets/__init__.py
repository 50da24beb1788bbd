"""Widgets of the terminal UI: answers with their panels, check results, sessions, status."""
