"""simreal tasks: one package per task, each registering itself (importable as simreal.tasks.<task>)."""
