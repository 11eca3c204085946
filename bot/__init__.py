"""Huawei Whisperer: the Slack bot that refreshes the partner portal so you do not have to."""

from __future__ import annotations

__version__ = "0.1.0"
