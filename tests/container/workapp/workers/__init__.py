"""The work app's workers."""
