"""One module per resource: attestations, verdicts, health, metrics."""
