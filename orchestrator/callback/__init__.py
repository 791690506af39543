"""Posting task results to the backend's callback URL."""
