"""What the plugin reads and writes: collections, runs, generated-query records, journals, language metadata."""
