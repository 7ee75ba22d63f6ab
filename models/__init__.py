"""interaction-monitor models: scorer interface, encoder, heads, training and evaluation."""
