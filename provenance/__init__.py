"""Provenance: parties, EPCIS 2.0 events (capture and query), signed claims, carbon allocation,
the story of a lot and of a unit."""
