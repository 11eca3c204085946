"""Watching: help, changes, diff and sources; changing what is watched; ack, mute and Not important rules."""
