"""Network probes run during a scan to fill each host's SecurityFacts."""
