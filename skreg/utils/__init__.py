"""Utilities shared by skreg's estimators and tests."""
