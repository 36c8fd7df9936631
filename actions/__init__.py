"""Rasa custom actions. They stay thin: each one calls `kb/` and says what it returns."""
from actions._kb import warm_up_in_background

warm_up_in_background()
