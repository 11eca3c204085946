"""Recording: an observation compared with the past and written with its changes and alerts."""
