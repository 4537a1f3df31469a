"""Annotation: the labeling session (who labels which item, every answer saved at once),
the item views, and the terminal UI."""
