"""Fetching: the network policy, HTTP, the browser, cookies and sessions. The only I/O in watchers."""
