"""The small app's workers: one fed by the topic, one reading the carts table's stream."""
