"""What is watched and what it said: sources, snapshots and changes, facts, levels, summaries, sessions."""
