"""Global Integrations service."""
