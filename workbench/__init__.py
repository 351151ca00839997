"""Award-evaluation workbench: rubrics, import, judging, agreement, moderation and export."""

__version__ = "0.1.0"
