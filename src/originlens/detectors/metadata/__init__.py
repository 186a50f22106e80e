"""Generator-metadata provenance detector (``metadata``): see ``docs/metadata.md``."""

from originlens.detectors.metadata.detector import MetadataDetector

__all__ = ["MetadataDetector"]
