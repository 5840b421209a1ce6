"""AI Skin Doctor: camera-based skin-lesion triage (a decision aid, not a medical device)."""

__version__ = "0.1.0"
