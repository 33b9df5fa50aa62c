"""The peers Sluice is measured against, written the way their own docs teach."""
