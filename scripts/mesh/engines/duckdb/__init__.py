"""The DuckDB engine: TODO"""
