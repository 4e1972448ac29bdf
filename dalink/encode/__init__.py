"""Agency side: normalise identifiers, encode them as keyed Bloom filters, write packages."""
