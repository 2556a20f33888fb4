"""The Text, JSON and Binary panes: their list models, delegate, detail views and editors."""
