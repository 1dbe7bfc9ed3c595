"""Importers: turn outside material (web pages, feeds, seed files) into corpus articles."""
