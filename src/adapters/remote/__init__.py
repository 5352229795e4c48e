"""Frames fetched from a URL the client names."""
