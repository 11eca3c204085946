"""Schema migrations by area, registered on import (the mechanism and the core ones are storage/migrations.py)."""
