"""reviewer: AI code review for CI and before you push."""

__version__ = "0.1.0"
