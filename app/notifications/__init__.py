"""Notification emails: an outbox written with each change, delivered by one sender."""
