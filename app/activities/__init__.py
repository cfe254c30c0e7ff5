"""Activities in: data partners push signed batches, residents link identifiers and self-report,
and every activity goes through one verification pipeline to points or to a readable reason."""
