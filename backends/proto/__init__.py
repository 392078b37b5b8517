"""Our own Caffe proto subsets, one per consumer dialect, and their generated modules."""
