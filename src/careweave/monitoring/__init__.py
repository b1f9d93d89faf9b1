"""Home readings and the feedback loop to the care team (issue 16 items 3-5, ADR 0018)."""
