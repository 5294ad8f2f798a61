"""rcm — Responsible Compute Markets: the application shell."""
