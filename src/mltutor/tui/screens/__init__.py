"""Screens of the terminal UI: chat (with the sessions sidebar), check, and modal dialogs."""
