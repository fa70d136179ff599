"""Looking for failures: Hypothesis strategies, properties, stateful tests,
explorers, fuzzing and shrinking."""
