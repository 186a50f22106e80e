"""Media handling: pure layer (format sniffing, safe decoding, hashing)."""
