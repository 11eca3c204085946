"""Reading, pure: bytes decoded and inflated, pages, feeds, JSON and PDF to text, noise removed."""
