"""Face analysis: detection, landmarks and alignment shared by the per-face detectors."""
