"""`make compare`: the endpoint's settings side by side on quality, speed and cost (docs/compare.md)."""
