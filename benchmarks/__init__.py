"""Benchmarks of mcp-sansio against the official Python SDK; run ``python -m benchmarks`` (see README.md)."""
