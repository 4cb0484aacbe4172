"""Segments: rules compiled to SQL, privacy-safe answers, discovered micro-segments, targeting."""
