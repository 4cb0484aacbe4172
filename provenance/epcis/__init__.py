"""EPCIS 2.0 JSON-LD: schema validation, capture (document to events), query (events to
document)."""
