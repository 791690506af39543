"""HTTP surface: routes, wire models and the one place errors become responses."""
