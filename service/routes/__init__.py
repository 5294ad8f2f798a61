"""One module per resource: orders, book, trades, health, metrics."""
