"""originlens: is this image made by a person or by generative AI, and what is the evidence."""

__version__ = "0.1.0"
API_VERSION = "1.1.0"
