"""Facts, pure: tiers, versions, dates and metrics read from text, and the extractors that record them."""
