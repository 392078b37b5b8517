"""What several passes share and no pass is: rewrites of weights along a channel axis (weights), exact repeats and
constant blobs (broadcasting), the geometry of SSD priors (priors) and the tracing of detection rows (box_rows)."""
