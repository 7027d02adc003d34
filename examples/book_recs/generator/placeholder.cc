// Replaced by the data generator.
