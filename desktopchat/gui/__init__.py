"""The desktop window (Qt only): start, host and join screens, the room and its panes."""
