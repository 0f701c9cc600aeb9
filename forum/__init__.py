"""forum: neighbourhood deliberation — issues that travel across weekly talks, monthly
coordination and quarterly reviews until residents are satisfied."""

__version__ = "0.1.0"
