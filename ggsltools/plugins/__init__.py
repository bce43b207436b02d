"""Built-in plugins of ggsltools, registered through entry points."""
__all__ = []
