"""Repository tooling: tables and comments made from DVC's own outputs."""
