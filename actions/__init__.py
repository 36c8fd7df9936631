"""Rasa custom actions. They stay thin: each one calls `kb/` and says what it returns."""
