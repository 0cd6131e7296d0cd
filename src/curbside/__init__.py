"""curbside: an open-source health assistant."""
