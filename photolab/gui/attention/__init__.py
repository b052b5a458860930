"""The Attention view: SE-block excitations, class averages and activation maps of the current photo."""
