"""Data only: the official Beacon v2.1.1 JSON Schemas (`beacon-v2/`, provenance in SOURCE.txt) and the
project's own schemas. Installed as the `beacon_schemas` package so `pip install .` carries them."""
