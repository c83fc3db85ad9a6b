"""The PACS study browser dock."""
