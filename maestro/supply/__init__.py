"""Supply chain: signing keys, blob signatures, DSSE attestations, SLSA provenance, SBOMs."""
