"""Leaked secrets: revoke every reported token that is ours, tell only counts."""
