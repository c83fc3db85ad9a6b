"""First-party plugins. Each subpackage's `__init__` holds only its manifest (cheap to import); the
model code sits in `plugin.py` and is imported when the plugin is first used."""
