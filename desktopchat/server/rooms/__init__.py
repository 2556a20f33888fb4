"""A room's rules and what carries them: members, their doors, the hub of rooms."""
