"""Shape propagation over the layer graph."""
